"""Strategies: from a drift report, which assets must or may move, by how much, in which direction.

A strategy returns a `Goal`: for each asset that may trade, four USD amounts (>= 0):

- `must_sell` / `must_buy`: the moves that are the point of this rebalance;
- `may_sell` / `may_buy`: further moves *toward target* the planner may use to fund or absorb
  the must-moves (an in-band asset a little under target can absorb a sale elsewhere).

The planner matches must against must first, then must against may; never may against may (that
would trade assets that are all within their bands). No asset both sells and buys.

The strategies (seed 001 and 002):

- threshold: assets (or classes) past their soft band go back to target; the rest absorb.
- band: the same trigger, but only back to just inside the band edge (`return_to: edge`, landing
  `edge_margin` of the soft width inside it) or to target (`return_to: target`).
- calendar: on a scheduled run every asset goes to target; off-schedule nothing moves.
- cash_flow: cash above its target (deposits, dividends) buys underweight assets; nothing that is
  not cash is ever sold.
- hybrid: the check happens on the schedule, and on a scheduled run it acts like threshold.

With `urgent_override` (the default), a hard-limit breach acts on any run and whatever the
frequency matrix says: seed 000 calls it critical, "immediate action required". Otherwise the
frequency matrix holds: a class whose fastest allowed cadence is weekly does not trade on a daily
run. `apply_limits` then trims every goal to the max-single-asset cap and computes how much cash
may be spent above the reserve.

This module must not do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from keeper.core.drift import DriftReport, DriftRow, Status
from keeper.core.spec import Cadence, PortfolioSpec, ReturnTo, StrategyKind
from keeper.money import BPS, MONEY_CONTEXT

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RunContext:
    """The moment a decision is taken for.

    `scheduled`: this run is the schedule's rebalance slot (calendar and hybrid act only then).
    `cadence`: the cadence this run stands for in the frequency matrix (a daily check is DAILY,
    the weekly scheduled run WEEKLY ...). `now` is unix seconds.
    """

    now: int
    scheduled: bool = True
    cadence: Cadence = Cadence.DAILY


@dataclass(frozen=True, slots=True)
class Move:
    """What one asset must/may do, in USD (all >= 0; sells and buys never both non-zero)."""

    asset: str
    must_sell: Decimal = ZERO
    may_sell: Decimal = ZERO
    must_buy: Decimal = ZERO
    may_buy: Decimal = ZERO
    reason: str = ""

    def __post_init__(self) -> None:
        for name in ("must_sell", "may_sell", "must_buy", "may_buy"):
            if getattr(self, name) < 0:
                raise ValueError(f"{self.asset}: {name} must be >= 0")
        if (self.must_sell or self.may_sell) and (self.must_buy or self.may_buy):
            raise ValueError(f"{self.asset}: a move cannot both sell and buy")

    @property
    def sells(self) -> bool:
        return bool(self.must_sell or self.may_sell)

    @property
    def buys(self) -> bool:
        return bool(self.must_buy or self.may_buy)

    @property
    def empty(self) -> bool:
        return not (self.sells or self.buys)


@dataclass(frozen=True, slots=True)
class Goal:
    """A strategy's answer. `moves` is sorted by asset and holds only assets that may trade.

    `cash_spendable_usd` is how much of the cash assets may be sold in total before the cash
    reserve binds (None until `apply_limits` ran). `no_action_reason` is set when the strategy
    itself sees nothing to do; `notes` explain what was held back and why.
    """

    strategy: StrategyKind
    moves: tuple[Move, ...]
    no_action_reason: str | None = None
    notes: tuple[str, ...] = ()
    cash_spendable_usd: Decimal | None = None

    def move(self, asset: str) -> Move | None:
        return next((m for m in self.moves if m.asset == asset), None)

    @property
    def has_must(self) -> bool:
        return any(m.must_sell or m.must_buy for m in self.moves)


def choose(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """Run the spec's strategy and apply the portfolio limits."""
    kind = spec.strategy.kind
    if kind is StrategyKind.THRESHOLD:
        goal = threshold(report, spec, ctx)
    elif kind is StrategyKind.BAND:
        goal = band(report, spec, ctx)
    elif kind is StrategyKind.CALENDAR:
        goal = calendar(report, spec, ctx)
    elif kind is StrategyKind.CASH_FLOW:
        goal = cash_flow(report, spec, ctx)
    else:
        goal = hybrid(report, spec, ctx)
    return apply_limits(goal, report, spec)


# --- the strategies -------------------------------------------------------------------------


def threshold(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """Assets and classes past their soft band go back to target; in-band assets may absorb."""
    return _banded(report, spec, ctx, StrategyKind.THRESHOLD, to_edge=False, urgent_only=False)


def band(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """Like threshold, but out-of-band assets return to the band edge or to target (configured)."""
    to_edge = spec.strategy.return_to is ReturnTo.EDGE
    return _banded(report, spec, ctx, StrategyKind.BAND, to_edge=to_edge, urgent_only=False)


def hybrid(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """Check on the calendar, act by threshold; off-schedule only hard breaches (if urgent)."""
    if ctx.scheduled:
        return _banded(report, spec, ctx, StrategyKind.HYBRID, to_edge=False, urgent_only=False)
    return _off_schedule(report, spec, ctx, StrategyKind.HYBRID)


def calendar(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """On a scheduled run every tradable asset goes to target; off-schedule only hard breaches."""
    if not ctx.scheduled:
        return _off_schedule(report, spec, ctx, StrategyKind.CALENDAR)
    if report.total_usd <= 0:
        return Goal(StrategyKind.CALENDAR, (), no_action_reason="the portfolio has no priced value")
    moves, notes = [], []
    for row in report.assets:
        if row.blocked:
            notes.append(f"{row.name} is blocked ({row.reason}): not traded")
            continue
        if not _allowed(row, report, spec, ctx):
            notes.append(_frozen_note(row, spec, ctx))
            continue
        moves.append(_to(row, _dev(row), must=True, reason="scheduled rebalance to target"))
    return _goal(StrategyKind.CALENDAR, moves, notes, "every asset is already at its target")


def cash_flow(report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> Goal:
    """Cash above its target buys underweight assets; nothing that is not cash is sold."""
    kind = StrategyKind.CASH_FLOW
    if report.total_usd <= 0:
        return Goal(kind, (), no_action_reason="the portfolio has no priced value")
    moves, notes = [], []
    spare = ZERO
    for row in report.assets:
        cash = spec.asset(row.name).cash
        if row.blocked:
            notes.append(f"{row.name} is blocked ({row.reason}): not traded")
            continue
        dev = _dev(row)
        if cash:
            if dev > 0:
                spare += dev
                moves.append(Move(row.name, may_sell=dev, reason="cash above target funds buys"))
            continue
        if dev >= 0:
            continue
        if not _allowed(row, report, spec, ctx):
            notes.append(_frozen_note(row, spec, ctx))
            continue
        moves.append(Move(row.name, must_buy=-dev, reason="underweight: bought with new cash"))
    if spare <= 0:
        return Goal(
            kind,
            (),
            no_action_reason="no cash above its target to invest (cash-flow never sells)",
            notes=tuple(notes),
        )
    if not any(m.must_buy for m in moves):
        return Goal(
            kind,
            (),
            no_action_reason="no underweight asset to buy with the new cash",
            notes=tuple(notes),
        )
    return Goal(kind, tuple(sorted(moves, key=lambda m: m.asset)), notes=tuple(notes))


# --- shared mechanics -----------------------------------------------------------------------


def _banded(
    report: DriftReport,
    spec: PortfolioSpec,
    ctx: RunContext,
    kind: StrategyKind,
    *,
    to_edge: bool,
    urgent_only: bool,
) -> Goal:
    """Threshold/band logic. With `urgent_only`, only hard breaches trigger (off-schedule runs)."""
    if report.total_usd <= 0:
        return Goal(kind, (), no_action_reason="the portfolio has no priced value")
    trigger = (Status.HARD,) if urgent_only else (Status.SOFT, Status.HARD)
    margin = spec.strategy.edge_margin
    must: dict[str, Decimal] = {}
    why: dict[str, str] = {}
    for row in report.assets:
        if row.status in trigger:
            dev = _dev(row)
            inner = row.soft_usd * (1 - margin) if to_edge and row.soft_usd is not None else ZERO
            must[row.name] = max(abs(dev) - inner, ZERO)
            why[row.name] = f"{row.status.value} ({_pp(row)})"
    for crow in report.classes:
        if crow.status not in trigger:
            continue
        cdev = _dev(crow)
        inner = crow.soft_usd * (1 - margin) if to_edge and crow.soft_usd is not None else ZERO
        need = max(abs(cdev) - inner, ZERO)
        same = [
            r
            for r in report.assets
            if r.asset_class == crow.name and not r.blocked and _dev(r) * cdev > 0
        ]
        pool = sum((abs(_dev(r)) for r in same), ZERO)
        for r in same:
            share = abs(_dev(r)) * need / pool if pool > 0 else ZERO
            if share > must.get(r.name, ZERO):
                must[r.name] = share
                why[r.name] = f"class {crow.label} {crow.status.value} ({_pp(crow)})"
    cap = _cap_usd(report, spec)
    if cap is not None:
        limit = spec.limits.max_single_asset
        for row in report.assets:
            over = (row.value_usd or ZERO) - cap
            if (
                spec.asset(row.name).cash
                or row.blocked
                or row.current is None
                or row.current <= limit
            ):
                continue
            if over > must.get(row.name, ZERO):
                must[row.name] = over
                why[row.name] = f"above the max single asset ({_pct(limit)})"
    if not any(v > 0 for v in must.values()):
        reason = (
            "no asset or class is past its hard limit (off-schedule run: only critical drift acts)"
            if urgent_only
            else "every asset and class is within its soft band"
        )
        return Goal(kind, (), no_action_reason=reason)

    moves, notes = [], []
    for row in report.assets:
        if row.blocked:
            if row.name in must:
                notes.append(f"{row.name} is blocked ({row.reason}): not traded")
            continue
        if not _allowed(row, report, spec, ctx):
            if row.name in must:
                notes.append(_frozen_note(row, spec, ctx))
            continue
        dev = _dev(row)
        m = must.get(row.name, ZERO)
        if m > 0:
            moves.append(_split(row.name, dev, m, why[row.name]))
        elif dev != 0:
            moves.append(_to(row, dev, must=False, reason="within band: may absorb toward target"))
    if not any(mv.must_sell or mv.must_buy for mv in moves):
        return Goal(
            kind,
            (),
            no_action_reason="drift exists only in assets that may not trade now",
            notes=tuple(notes),
        )
    return _goal(kind, moves, notes, "nothing to move")


def _off_schedule(
    report: DriftReport, spec: PortfolioSpec, ctx: RunContext, kind: StrategyKind
) -> Goal:
    if spec.strategy.urgent_override:
        return _banded(report, spec, ctx, kind, to_edge=False, urgent_only=True)
    return Goal(
        kind,
        (),
        no_action_reason=(
            f"{kind.value} strategy acts on the schedule and this is not a scheduled run"
        ),
    )


def _allowed(row: DriftRow, report: DriftReport, spec: PortfolioSpec, ctx: RunContext) -> bool:
    """The frequency matrix, with the urgent override for hard breaches."""
    cls = spec.asset_class(row.asset_class)
    if ctx.cadence >= cls.frequency:
        return True
    if not spec.strategy.urgent_override:
        return False
    return row.status is Status.HARD or report.asset_class(cls.name).status is Status.HARD


def _frozen_note(row: DriftRow, spec: PortfolioSpec, ctx: RunContext) -> str:
    cls = spec.asset_class(row.asset_class)
    return (
        f"{row.name}: class {cls.label} trades {cls.frequency.label} or slower, "
        f"this is a {ctx.cadence.label} run: not traded"
    )


def _dev(row: DriftRow) -> Decimal:
    d = row.drift_usd
    return ZERO if d is None else d


def _pp(row: DriftRow) -> str:
    d = row.drift_pp or ZERO
    return f"{(d * 100).quantize(Decimal('0.01')):+}pp"


def _to(row: DriftRow, dev: Decimal, *, must: bool, reason: str) -> Move:
    if dev > 0:
        return (
            Move(row.name, must_sell=dev, reason=reason)
            if must
            else Move(row.name, may_sell=dev, reason=reason)
        )
    return (
        Move(row.name, must_buy=-dev, reason=reason)
        if must
        else Move(row.name, may_buy=-dev, reason=reason)
    )


def _split(asset: str, dev: Decimal, must: Decimal, reason: str) -> Move:
    must = min(must, abs(dev))
    rest = abs(dev) - must
    if dev > 0:
        return Move(asset, must_sell=must, may_sell=rest, reason=reason)
    return Move(asset, must_buy=must, may_buy=rest, reason=reason)


def _goal(kind: StrategyKind, moves: list[Move], notes: list[str], empty_reason: str) -> Goal:
    moves = [m for m in moves if not m.empty]
    if not moves:
        return Goal(kind, (), no_action_reason=empty_reason, notes=tuple(notes))
    return Goal(kind, tuple(sorted(moves, key=lambda m: m.asset)), notes=tuple(notes))


# --- limits ---------------------------------------------------------------------------------


def apply_limits(goal: Goal, report: DriftReport, spec: PortfolioSpec) -> Goal:
    """Trim a goal's buys to the max-single-asset cap and compute the cash that may be spent.

    The cap (`_cap_usd`) leaves room for the worst-case costs of a plan, so an asset bought up to
    it is still under the limit after costs shrink the total. Selling assets that are above the cap
    is a trigger of the banded strategies (`_banded`), not a trim.
    """
    spendable = _cash_spendable(report, spec)
    cap = _cap_usd(report, spec)
    if cap is None or not goal.moves:
        return replace(goal, cash_spendable_usd=spendable)
    with localcontext(MONEY_CONTEXT):
        notes = list(goal.notes)
        moves = []
        for m in goal.moves:
            row = report.asset(m.asset)
            if m.buys and not spec.asset(m.asset).cash and row.value_usd is not None:
                room = max(cap - row.value_usd, ZERO)
                if m.must_buy + m.may_buy > room:
                    must_b = min(m.must_buy, room)
                    m = replace(m, must_buy=must_b, may_buy=min(m.may_buy, room - must_b))
                    notes.append(f"{m.asset}: buy trimmed to stay under the max single asset")
            if not m.empty:
                moves.append(m)
        reason = goal.no_action_reason
        if reason is None and not any(m.must_sell or m.must_buy for m in moves):
            reason = "the limits leave nothing that must move"
        return replace(
            goal,
            moves=tuple(moves),
            notes=tuple(notes),
            no_action_reason=reason,
            cash_spendable_usd=spendable,
        )


def _cap_usd(report: DriftReport, spec: PortfolioSpec) -> Decimal | None:
    """The max single asset in USD, less room for the worst-case costs (each unit of value
    crosses at most two legs), or None without a cap."""
    cap_w = spec.limits.max_single_asset
    if cap_w is None or report.total_usd <= 0:
        return None
    return cap_w * report.total_usd * (1 - 2 * Decimal(spec.max_leg_cost_bps()) / BPS)


def _cash_spendable(report: DriftReport, spec: PortfolioSpec) -> Decimal:
    cash = sum(
        (r.value_usd for r in report.assets if spec.asset(r.name).cash and r.value_usd is not None),
        ZERO,
    )
    return max(cash - spec.limits.cash_reserve(report.total_usd), ZERO)


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"
