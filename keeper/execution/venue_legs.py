"""From the core `Plan` to orders on exchanges and brokers: legs, a dry run, a safe real run.

This module owns the non-chain half of executing a plan:

- `venue_legs`: every trade of the plan on a `cex` or `broker` venue becomes a `LegSpec` (leg
  index = the trade's step) under a plan id derived only from the plan's content and the cycle
  (`plan_id`), so running the same plan again finds the same client order ids at the venues.
  Sells size by the raw amount the plan sells; buys by the raw amount it expects to receive
  (already net of fee and slippage, so it never needs more cash than the plan gave it). Each leg
  carries its reference price (quote units per unit, recovered exactly from the trade and the
  venue's cost bps) and a worst price `slippage_tolerance` away from it.
- `execute_venue_trades`: `send=False` is the dry run (`DryRunExecutor` over adapters built
  without credentials: no authenticated call can leave); `send=True` reconciles every unfinished
  leg in the store first (`recover`), then runs the legs with `run_plan` (per venue: sells, then
  the buys scaled to the cash actually there), journaling every step in the `LegStore`.

Safety rule for earlier plans: after recovery, an unfinished leg of ANOTHER plan with orders
still live at its venue blocks this plan's legs on that venue (reported, nothing placed there);
one with nothing live (waiting for the open, interrupted between slices) is closed as superseded,
since this plan was made from a snapshot that already shows what it did.

It does not build the on-chain batch, choose trades, or read balances: the runner does that and
calls `execute_venue_trades` for the venues that are not chains.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from keeper.config.loader import LoadedConfig
from keeper.core.plan import Plan, Trade, TradeKind
from keeper.core.spec import VenueKind
from keeper.errors import ConfigError
from keeper.money import BPS, to_decimal
from keeper.store.journal import Journal
from keeper.store.legs import JournalLegStore
from keeper.venues.connect import (
    close_venues,
    execution_config,
    limit_slippage_bps,
    open_order_venues,
    tolerance,
)
from keeper.venues.dryrun import DryRunExecutor
from keeper.venues.executor import OrderVenue, recover
from keeper.venues.hours import MarketHours
from keeper.venues.legs import LegSpec, LegState, LegStore
from keeper.venues.plan import PlanReport, run_plan
from keeper.venues.reading import run_sync
from keeper.venues.retry import RetryPolicy, Sleep
from keeper.venues.types import OrderState

log = logging.getLogger(__name__)

_PRICE_STEP = Decimal("1e-10")  # worst prices: 10 decimal places, rounded the strict way
_REFERENCE_STEP = Decimal("1e-6")  # reference prices (dry-run pricing, display): 6 places
_LIVE = (OrderState.SENT, OrderState.ACKNOWLEDGED, OrderState.PARTLY_FILLED)


@dataclass(frozen=True, slots=True)
class VenueLegs:
    """A plan's legs on exchanges and brokers.

    `reference_prices[(venue, symbol)]` is the plan's price in quote units per unit (what the
    dry run prices a venue with when its quotes need credentials).
    """

    plan_id: str
    specs: tuple[LegSpec, ...]
    reference_prices: dict[tuple[str, str], Decimal]

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(sorted({s.venue for s in self.specs}))


def plan_id(plan: Plan, cycle: int | str | None = None) -> str:
    """A stable id for `plan` in `cycle`: the same trades from the same snapshot give the same id.

    It hashes every trade (venue, holdings, raw amounts, step) with the snapshot time and the
    cycle, so a re-run of the plan after a crash meets its own client order ids at the venues,
    and a new cycle's plan never does.
    """
    content = {
        "cycle": None if cycle is None else str(cycle),
        "taken_at": plan.taken_at,
        "trades": [
            [t.step, t.venue, t.sell_holding, t.sell_raw, t.buy_holding, t.buy_raw]
            for t in plan.trades
        ],
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"plan-{digest[:24]}"


def venue_legs(plan: Plan, loaded: LoadedConfig, *, cycle: int | str | None = None) -> VenueLegs:
    """The `LegSpec` of every trade of `plan` on a cex or broker venue, in step order."""
    pid = plan_id(plan, cycle)
    spec = loaded.spec
    specs: list[LegSpec] = []
    prices: dict[tuple[str, str], Decimal] = {}
    for t in plan.trades:
        venue = spec.venue(t.venue)
        if venue.kind is VenueKind.CHAIN:
            continue
        if t.kind is not TradeKind.SWAP:
            raise ConfigError(f"step {t.step}: {t.kind.value} legs do not exist on {t.venue}")
        leg, reference = _leg(pid, t, loaded)
        specs.append(leg)
        prices[(leg.venue, leg.symbol)] = reference
    return VenueLegs(pid, tuple(specs), prices)


def _leg(pid: str, t: Trade, loaded: LoadedConfig) -> tuple[LegSpec, Decimal]:
    spec = loaded.spec
    venue = spec.venue(t.venue)
    quote = venue.quote
    if t.buy_asset == quote:
        side, base_holding = "sell", t.sell_holding
    elif t.sell_asset == quote:
        side, base_holding = "buy", t.buy_holding
    else:
        raise ConfigError(
            f"step {t.step}: {t.sell_asset} -> {t.buy_asset} on {t.venue} is not against its "
            f"quote {quote}: exchange and broker venues trade via_quote"
        )
    base = spec.holding(base_holding)
    quote_holding = spec.holding(t.sell_holding if side == "buy" else t.buy_holding)
    if base is None or quote_holding is None:
        raise ConfigError(f"step {t.step}: a holding of this trade is not in keeper.yaml")
    symbol = base.ref if venue.kind is VenueKind.BROKER else f"{base.ref}/{quote_holding.ref}"
    sold = to_decimal(t.sell_raw, t.sell_decimals)
    bought = to_decimal(t.buy_raw, t.buy_decimals)
    keep = 1 - Decimal(venue.cost_bps) / BPS  # what the planner assumed a leg returns
    if side == "sell":
        amount, reference = sold, bought / (sold * keep)
        worst = _round(reference * (1 - tolerance(loaded)), ROUND_CEILING)
    else:
        amount, reference = bought, sold * keep / bought
        worst = _round(reference * (1 + tolerance(loaded)), ROUND_FLOOR)
    leg = LegSpec(
        plan_id=pid,
        leg_index=t.step,
        venue=t.venue,
        symbol=symbol,
        side=side,
        amount=amount,
        max_slippage_bps=limit_slippage_bps(loaded, t.venue),
        worst_price=worst,
    )
    return leg, _tidy(reference.quantize(_REFERENCE_STEP))


def _round(value: Decimal, rounding: str) -> Decimal:
    """Rounded to `_PRICE_STEP` in the direction that is stricter for the leg."""
    return _tidy(value.quantize(_PRICE_STEP, rounding=rounding))


def _tidy(value: Decimal) -> Decimal:
    """Without trailing zeros, and never in exponent form (380, not 3.8E+2)."""
    n = value.normalize()
    return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n  # type: ignore[operator]


def as_leg_store(journal_or_store: Journal | LegStore) -> LegStore:
    return (
        JournalLegStore(journal_or_store)
        if isinstance(journal_or_store, Journal)
        else journal_or_store
    )


def execute_venue_trades(
    plan: Plan,
    loaded: LoadedConfig,
    journal_or_store: Journal | LegStore | None,
    *,
    venues: Mapping[str, OrderVenue] | None = None,
    send: bool,
    cycle: int | str | None = None,
    environ: Mapping[str, str] | None = None,
    hours: MarketHours | None = None,
) -> PlanReport:
    """Execute (or, with `send=False`, preview) `plan`'s exchange and broker legs; blocking.

    `venues=None` builds the adapters from keeper.yaml and the environment (with credentials only
    when `send`; `environ` defaults to the process's) for the plan's venues and any venue with an
    unfinished leg in the store, and closes them after. Adapters passed in must not have been
    used in another event loop yet (they bind to the first loop that uses them); this function
    runs its own loop, or a worker thread's when called from inside one. Returns the report of
    every leg; a leg that failed is reported, never undone.
    """

    async def run() -> PlanReport:
        own = venues is None
        adapters = venues
        if adapters is None:
            names = set(venue_legs(plan, loaded, cycle=cycle).venues)
            if send and journal_or_store is not None:
                configured = set(loaded.model.venues)
                names |= {
                    leg.spec.venue
                    for leg in as_leg_store(journal_or_store).load_unfinished()
                    if leg.spec.venue in configured
                }
            adapters = open_order_venues(loaded, names, send=send, environ=environ, hours=hours)
        try:
            return await execute_venue_trades_async(
                plan, loaded, journal_or_store, venues=adapters, send=send, cycle=cycle
            )
        finally:
            if own:
                await close_venues(adapters)

    return run_sync(run)


async def execute_venue_trades_async(
    plan: Plan,
    loaded: LoadedConfig,
    journal_or_store: Journal | LegStore | None,
    *,
    venues: Mapping[str, OrderVenue],
    send: bool,
    cycle: int | str | None = None,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PlanReport:
    """`execute_venue_trades` inside a running loop, with adapters the caller built and closes.

    A dry run refuses adapters that hold credentials (build them with `open_order_venues(...,
    send=False)`), so it cannot make an authenticated call even by mistake.

    For a real run `venues` must hold an adapter for every venue of the plan AND of every
    unfinished leg in the store (recovery reconciles those first; a missing one is a
    `ConfigError` before anything is placed).
    """
    legs = venue_legs(plan, loaded, cycle=cycle)
    if not legs.specs:
        return PlanReport([], plan_id=legs.plan_id, notes=["no exchange or broker legs"])
    configs = {name: execution_config(loaded, name, retry=retry) for name in legs.venues}
    base = configs[legs.venues[0]]
    if not send:
        armed = sorted(n for n in legs.venues if not getattr(venues.get(n), "read_only", True))
        if armed:
            raise ConfigError(
                f"dry run: the adapters of {', '.join(armed)} hold credentials; build them with "
                "open_order_venues(..., send=False) so that no authenticated call can leave"
            )
        preview = await DryRunExecutor(dict(venues), base, sleep=sleep).preview(
            list(legs.specs), reference_prices=legs.reference_prices
        )
        return PlanReport(
            [LegState(spec=s) for s in legs.specs],
            plan_id=legs.plan_id,
            preview=preview,
            notes=["dry run: nothing was sent"],
        )
    if not loaded.model.enabled:
        raise ConfigError(
            f"{loaded.path.name}: enabled is false, so the keeper never executes: set enabled: "
            "true to send orders"
        )
    if journal_or_store is None:
        raise ConfigError("a real run needs a journal to record every leg before it is sent")
    store = as_leg_store(journal_or_store)
    recovered = await recover(store, dict(venues), base, sleep=sleep)
    notes: list[str] = []
    blocked = _settle_earlier_plans(recovered, legs.plan_id, store, notes)
    runnable = [s for s in legs.specs if s.venue not in blocked]
    report = await run_plan(
        runnable, dict(venues), store, base, configs=configs, sleep=sleep, clock=clock
    )
    for s in legs.specs:
        if s.venue in blocked:
            report.legs.append(LegState(spec=s, reason=f"not started: {blocked[s.venue]}"))
    report.legs.sort(key=lambda leg: leg.spec.leg_index)
    report.plan_id, report.recovered, report.notes = legs.plan_id, recovered, notes
    for line in report.lines():
        log.info("%s: %s", legs.plan_id, line)
    return report


def _settle_earlier_plans(
    recovered: list[LegState], pid: str, store: LegStore, notes: list[str]
) -> dict[str, str]:
    """Close earlier plans' legs that have nothing live; return venue -> why it is blocked."""
    blocked: dict[str, str] = {}
    for leg in recovered:
        if leg.spec.plan_id == pid or leg.state.terminal:
            continue
        live = [o.client_id for o in leg.orders if o.state in _LIVE]
        where = f"leg {leg.spec.leg_index} of {leg.spec.plan_id}"
        if live:
            blocked.setdefault(
                leg.spec.venue,
                f"{leg.spec.venue} still has live orders of {where} ({', '.join(live)}); "
                "they must fill or be cancelled first",
            )
            continue
        leg.state = OrderState.CANCELLED
        leg.reason = f"superseded by {pid}: nothing of it was live at the venue"
        store.save(leg)
        notes.append(f"{leg.spec.venue}: {where} closed as superseded (nothing live)")
    for venue, why in blocked.items():
        notes.append(f"{venue}: not started: {why}")
    return blocked
