"""A plan across venues: venues in parallel, on each venue sells before the buys they fund.

This module owns the order in which a plan's legs run and the cash rule: venues share no cash
(moving cash between venues is out of scope), so they run in parallel; on one venue the sells go
first and the buys are then scaled pro rata to the free cash actually there, each scaled leg
saying so. Every leg is worked by `executor.LegExecutor`; a failed leg is reported in
`PlanReport`, never undone blindly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from keeper.errors import ConfigError, KeeperError
from keeper.secrets import redact
from keeper.venues import sizing
from keeper.venues.executor import ExecutionConfig, LegExecutor, OrderVenue
from keeper.venues.legs import LegSpec, LegState, LegStore
from keeper.venues.retry import Sleep, with_retries
from keeper.venues.types import ZERO, MarketRules, OrderState

if TYPE_CHECKING:
    from keeper.venues.dryrun import PreviewOrder

log = logging.getLogger(__name__)


@dataclass
class PlanReport:
    """The outcome of every leg of a plan, with what was scaled and what failed.

    `plan_id` names the plan in the journal and in every client order id; `preview` holds the
    orders a dry run would send (empty after a real run); `recovered` the unfinished legs of
    earlier runs reconciled first; `notes` anything the operator should read.
    """

    legs: list[LegState]
    plan_id: str = ""
    preview: list[PreviewOrder] = field(default_factory=list)
    recovered: list[LegState] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[LegState]:
        return [leg for leg in self.legs if leg.state == OrderState.FAILED]

    @property
    def unfinished(self) -> list[LegState]:
        return [leg for leg in self.legs if not leg.state.terminal]

    def lines(self) -> list[str]:
        out = []
        for leg in sorted(self.legs, key=lambda leg: leg.spec.leg_index):
            s = leg.spec
            line = f"leg {s.leg_index} {s.venue} {s.side} {s.amount} {s.symbol}: {leg.state.value}, filled {leg.filled}"
            if leg.reason:
                line += f" ({leg.reason})"
            out.append(line)
        return out


def safe_order(legs: list[LegSpec]) -> dict[str, list[LegSpec]]:
    """Legs per venue, sells first (they fund the buys), each group in plan order."""
    by_venue: dict[str, list[LegSpec]] = {}
    for spec in sorted(legs, key=lambda s: (s.side != "sell", s.leg_index)):
        by_venue.setdefault(spec.venue, []).append(spec)
    return by_venue


async def scale_buys(
    venue: OrderVenue,
    buys: list[LegSpec],
    store: LegStore,
    config: ExecutionConfig,
    *,
    sleep: Sleep = asyncio.sleep,
) -> list[LegSpec]:
    """The buys, shrunk pro rata per quote asset to the free cash on `venue`, each saved once.

    Cash is never moved between venues: when a venue lacks the cash for its buys, every buy
    there is scaled by the same factor and the leg says so. Buys already stored (a resumed plan)
    keep their stored amount; scaling happens once.
    """
    fresh = [b for b in buys if store.load(b.plan_id, b.leg_index) is None]
    if fresh:
        balances = await with_retries(
            venue.balances, config.retry, what=f"{venue.name}: balances", sleep=sleep
        )
        free = {b.asset: b.free for b in balances}
        needs: dict[str, list[tuple[LegSpec, MarketRules, Decimal]]] = {}
        for spec in fresh:
            rules = await with_retries(
                lambda s=spec: venue.rules(s.symbol),
                config.retry,
                what=f"{venue.name}: rules",
                sleep=sleep,
            )
            book = await with_retries(
                lambda s=spec: venue.book(s.symbol),
                config.retry,
                what=f"{venue.name}: book",
                sleep=sleep,
            )
            price = sizing.limit_price(book, "buy", spec.max_slippage_bps, rules.tick) or ZERO
            fee = await venue.taker_fee(spec.symbol)
            needs.setdefault(rules.quote, []).append(
                (spec, rules, sizing.buy_cash_needed(spec.amount, price, fee))
            )
        for quote, items in needs.items():
            needed = sum((n for _, _, n in items), ZERO)
            cash = free.get(quote, ZERO)
            factor = sizing.scale_to_cash(needed, cash)
            for spec, rules, _ in items:
                if factor >= 1:
                    store.save(LegState(spec=spec))
                    continue
                amount = sizing.round_down(spec.amount * factor, rules.step)
                note = (
                    f"scaled to {factor:.6f} of {spec.amount}: {venue.name} holds {cash} {quote} "
                    f"for buys needing {needed:.2f} (cash is not moved between venues)"
                )
                log.warning("leg %d: %s", spec.leg_index, note)
                if amount > 0:
                    store.save(LegState(spec=spec).scaled(factor, amount, note))
                else:
                    store.save(
                        LegState(
                            spec=spec,
                            state=OrderState.CANCELLED,
                            reason=f"no cash for this buy: {note}",
                        )
                    )
    out = []
    for b in buys:
        stored = store.load(b.plan_id, b.leg_index)
        assert stored is not None  # saved above or by an earlier run
        out.append(stored.spec)
    return out


async def run_plan(
    legs: list[LegSpec],
    venues: dict[str, OrderVenue],
    store: LegStore,
    config: ExecutionConfig | None = None,
    *,
    configs: dict[str, ExecutionConfig] | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PlanReport:
    """Execute a cross-venue plan safely: per venue sells, then the (cash-scaled) buys."""
    unknown = sorted({s.venue for s in legs} - set(venues))
    if unknown:
        raise ConfigError(
            f"plan names venues with no adapter: {', '.join(unknown)}; add them under venues: in keeper.yaml"
        )
    base = config or ExecutionConfig()

    async def on_venue(name: str, specs: list[LegSpec]) -> list[LegState]:
        venue = venues[name]
        cfg = (configs or {}).get(name, base)
        executor = LegExecutor(venue, store, cfg, sleep=sleep, clock=clock)
        results = []
        for spec in [s for s in specs if s.side == "sell"]:
            results.append(await executor.run(spec))
        buys = [s for s in specs if s.side == "buy"]
        if buys:
            try:
                scaled = await scale_buys(venue, buys, store, cfg, sleep=sleep)
            except KeeperError as e:
                note = redact(e.one_line())
                for spec in buys:
                    leg = store.load(spec.plan_id, spec.leg_index) or LegState(spec=spec)
                    if not leg.orders:
                        leg.state, leg.reason = (
                            OrderState.FAILED,
                            f"not started: could not read cash: {note}",
                        )
                        store.save(leg)
                    results.append(leg)
                return results
            for spec in scaled:
                results.append(await executor.run(spec))
        return results

    groups = safe_order(legs)
    done = await asyncio.gather(*(on_venue(name, specs) for name, specs in groups.items()))
    return PlanReport([leg for group in done for leg in group])
