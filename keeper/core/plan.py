"""The planner's output: a `Plan` of venue-local `Trade`s, what was dropped and why, and
`apply_plan`, the portfolio after a plan at unchanged prices.

A Plan is a frozen value. Each trade sells an exact raw amount of one holding and expects a raw
amount of another on the same venue, with its USD notional, its expected costs (fee and slippage
from the venue's config; gas is a placeholder the runner fills with `Trade.with_gas`) and the
drift it removes, so the runner can weigh benefit against cost. `kind` leaves room for migrations
(moving one asset between holdings, a later issue); the planner here only makes swaps.

This module must not do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from keeper.core.portfolio import Snapshot
from keeper.core.spec import StrategyKind

ZERO = Decimal(0)


class TradeKind(str, Enum):
    SWAP = "swap"  # sell one asset for another on one venue
    MIGRATE = "migrate"  # move one asset between holdings (vault -> Aave); not planned yet


@dataclass(frozen=True, slots=True)
class Trade:
    """One leg on one venue.

    `sell_raw` is exact and never more than the holding has at this step; `buy_raw` is what the
    leg is expected to return after fee and slippage at snapshot prices (the executor sets its own
    minimum out from the slippage tolerance). `notional_usd` is the snapshot value of what is sold.
    `funded_by` lists the steps whose proceeds pay for this leg (a buy with a CEX's USDT that a
    sell in the same plan produced); those steps always come first.
    """

    step: int
    venue: str
    sell_asset: str
    sell_holding: str
    sell_raw: int
    sell_decimals: int
    buy_asset: str
    buy_holding: str
    buy_raw: int
    buy_decimals: int
    notional_usd: Decimal
    fee_usd: Decimal
    slippage_usd: Decimal
    gas_usd: Decimal | None = None
    drift_removed_usd: Decimal = ZERO
    funded_by: tuple[int, ...] = ()
    kind: TradeKind = TradeKind.SWAP

    @property
    def expected_cost_usd(self) -> Decimal:
        """Fee + slippage + gas (gas counts as zero until the runner fills it: see "
        "`cost_complete`)."""
        return self.fee_usd + self.slippage_usd + (self.gas_usd or ZERO)

    @property
    def cost_complete(self) -> bool:
        return self.gas_usd is not None

    def with_gas(self, gas_usd: Decimal) -> Trade:
        return replace(self, gas_usd=gas_usd)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A leg the planner found but will not make, and why (below the venue minimum, dust)."""

    venue: str
    sell_asset: str
    buy_asset: str
    notional_usd: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Part of a must-move no venue-local trade could make (`side` is "buy" or "sell")."""

    asset: str
    side: str
    unmet_usd: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The trades of one rebalance, or "no action" with the reason.

    `total_usd` is the portfolio value the plan was made against; `taken_at` the snapshot time.
    """

    strategy: StrategyKind
    trades: tuple[Trade, ...]
    dropped: tuple[Dropped, ...] = ()
    shortfalls: tuple[Shortfall, ...] = ()
    notes: tuple[str, ...] = ()
    no_action_reason: str | None = None
    total_usd: Decimal = ZERO
    taken_at: int = 0

    def __post_init__(self) -> None:
        if not self.trades and self.no_action_reason is None:
            raise ValueError("an empty plan must say why there is no action")
        if self.trades and self.no_action_reason is not None:
            raise ValueError("a plan with trades cannot carry a no-action reason")
        if [t.step for t in self.trades] != list(range(len(self.trades))):
            raise ValueError("trade steps must be 0..n-1 in order")

    @property
    def no_action(self) -> bool:
        return not self.trades

    @property
    def notional_usd(self) -> Decimal:
        return sum((t.notional_usd for t in self.trades), ZERO)

    @property
    def expected_cost_usd(self) -> Decimal:
        return sum((t.expected_cost_usd for t in self.trades), ZERO)

    @property
    def drift_removed_usd(self) -> Decimal:
        return sum((t.drift_removed_usd for t in self.trades), ZERO)

    def venues(self) -> tuple[str, ...]:
        return tuple(sorted({t.venue for t in self.trades}))

    def for_venue(self, venue: str) -> tuple[Trade, ...]:
        return tuple(t for t in self.trades if t.venue == venue)


def apply_plan(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The snapshot after every trade of `plan` fills as expected, at unchanged prices.

    Raises ValueError if a step sells more of a holding than it has at that point: a plan that
    does that is a bug, and this is the check the property tests lean on.
    """
    raw = {p.holding: p.raw for p in snapshot.positions}
    for t in plan.trades:
        if t.sell_holding not in raw or t.buy_holding not in raw:
            raise ValueError(f"step {t.step}: holding not in the snapshot")
        left = raw[t.sell_holding] - t.sell_raw
        if left < 0:
            raise ValueError(

                    f"step {t.step}: sells {t.sell_raw} of {t.sell_holding} which holds "
                    f"{raw[t.sell_holding]}"

            )
        raw[t.sell_holding] = left
        raw[t.buy_holding] += t.buy_raw
    return snapshot.replace_positions(p.with_raw(raw[p.holding]) for p in snapshot.positions)
