"""The planner's output: a `Plan` of venue-local `Trade`s, what was dropped and why, and
`apply_plan`, the portfolio after a plan at unchanged prices.

A Plan is a frozen value. Each trade sells an exact raw amount of one holding and expects a raw
amount of another on the same venue, with its USD notional, its expected costs (fee and slippage
from the venue's config; gas is a placeholder the runner fills with `Trade.with_gas`) and the
drift it removes, so the runner can weigh benefit against cost. For a taxable treasury each
trade also carries its estimated tax (`tax_usd`, negative when a loss saves tax), which its
expected cost includes, and the plan carries the lots each sale consumes and the joint tax impact
(`PlanTax`) plus any loss-harvest pairs (`HarvestPair`). `kind` leaves room for migrations
(moving one asset between holdings, a later issue); the planner here only makes swaps.

This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from keeper.core.portfolio import Snapshot
from keeper.core.spec import StrategyKind
from keeper.tax.model import Disposal, TaxCategory
from keeper.tax.planning import PlanTaxImpact

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
    tax_usd: Decimal | None = None  # estimated tax of this sale (negative: saved); see below

    @property
    def execution_cost_usd(self) -> Decimal:
        """Fee + slippage + gas: what executing the leg takes out of the portfolio (gas counts as
        zero until the runner fills it: see `cost_complete`)."""
        return self.fee_usd + self.slippage_usd + (self.gas_usd or ZERO)

    @property
    def expected_cost_usd(self) -> Decimal:
        """Execution cost plus the estimated tax of the sale (`tax_usd`, USD, negative when a
        realised loss saves tax; None, counted as zero, when the treasury is not taxable, has no
        tax config, or the sale's lots are unknown). The runner's cost-benefit reads this."""
        return self.execution_cost_usd + (self.tax_usd or ZERO)

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
class TaxLine:
    """One taxable sale of the plan: the lots it consumes and its marginal tax, in the tax
    profile's currency (`PlanTax.currency`). Lines are in step order; each line's tax is what it
    adds after the lines before it, so they add up to the plan's joint tax."""

    step: int
    asset: str
    venue: str
    disposal: Disposal  # quantities in the lots' raw units, proceeds net of fee and slippage
    gains: Mapping[TaxCategory, Decimal]
    tax: Decimal
    deferred_loss: Decimal = ZERO


@dataclass(frozen=True)
class PlanTax:
    """The estimated tax impact of a plan (seed 000's "Tax Impact Assessment").

    Amounts are in `currency` (the jurisdiction's: USD, EUR, GBP); `fx_usd` is USD per unit of
    it, so `tax_usd` = `tax` x `fx_usd`. `impact` is `keeper.tax.plan_tax_impact` of the plan's
    sells (per asset alone, and jointly with allowances applied once). `harvest_saved` is the tax
    the plan's harvest pairs save; `deferral_saved` what the tax-aware choice of which asset to
    sell saves against the same rebalance without it (both >= 0 when they help).
    """

    jurisdiction: str
    currency: str
    fx_usd: Decimal
    lines: tuple[TaxLine, ...]
    impact: PlanTaxImpact
    tax: Decimal
    harvest_saved: Decimal = ZERO
    deferral_saved: Decimal = ZERO
    policy: str = ""

    @property
    def tax_usd(self) -> Decimal:
        return self.tax * self.fx_usd


@dataclass(frozen=True, slots=True)
class HarvestPair:
    """A loss harvest the plan makes: sell `asset`'s losing lots, buy `substitute` with the
    proceeds on the same venue, so the exposure stays. `steps` are its trades."""

    asset: str
    substitute: str
    venue: str
    loss: Decimal  # in the tax profile's currency
    tax_saved: Decimal
    trading_cost_usd: Decimal
    steps: tuple[int, ...]
    rebuy_after: str | None = None  # ISO date the asset itself may be bought back
    reason: str = ""


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
    tax: PlanTax | None = None  # None: not taxable / no tax config
    harvests: tuple[HarvestPair, ...] = ()

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
        """Execution costs plus estimated taxes of every trade (see `Trade.expected_cost_usd`)."""
        return sum((t.expected_cost_usd for t in self.trades), ZERO)

    @property
    def execution_cost_usd(self) -> Decimal:
        return sum((t.execution_cost_usd for t in self.trades), ZERO)

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
