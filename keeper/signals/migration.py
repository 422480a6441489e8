"""The yield-migration planner: which slices of which positions to move this cycle, or why not.

This module owns the choice of moves across pools of interchangeable positions (USDC in Aave,
in Compound, in two ERC-4626 vaults, ...): it restores protocols that sit above their cap
(seed 000), then moves each lower-yielding position towards the best destination whose move
passes `migration_rules.evaluate_move`, never breaking a protocol cap, a strategy band, the
stablecoin minimum or a destination's deposit limit, one slice per position per cycle. It
returns moves (raw amounts with decimals, gain/cost/payback in `Decimal` USD) and, for every
position that could earn more but stays, the one-line reason. Pure: no I/O, no clock.

What it does not model: a deposit lowering the destination's rate (utilization); slicing and
re-reading rates every cycle keep that error small. Pass every holding in a protocol, so the
caps see the whole exposure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

from keeper.money import MONEY_CONTEXT, TokenAmount, round_usd, to_raw
from keeper.signals.migration_rules import (
    ZERO,
    MigrationParams,
    MoveEconomics,
    Rejected,
    YieldHolding,
    evaluate_move,
    price_move,
)


@dataclass(frozen=True, slots=True)
class Move:
    """One migration leg for this cycle: withdraw `amount` from `from_id`, deposit in `to_id`.

    kind "yield": passed the migration rule (gains more than it costs within the payback).
    kind "cap": restores a protocol above its cap; may earn less than it costs, by design.
    """

    kind: Literal["yield", "cap"]
    pool: str
    from_id: str
    to_id: str
    amount: TokenAmount  # raw units of the source asset
    apy_from: Decimal
    apy_to: Decimal
    economics: MoveEconomics
    slice_number: int
    slices_total: int
    remaining: TokenAmount  # what later cycles still plan to move on this route
    reason: str


@dataclass(frozen=True, slots=True)
class NoMove:
    """A position that could earn more elsewhere but stays this cycle, and why."""

    pool: str
    holding_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    moves: tuple[Move, ...]
    no_moves: tuple[NoMove, ...]


def plan_slices(total_raw: int, max_slice_raw: int | None) -> tuple[int, ...]:
    """Split `total_raw` into the fewest slices of at most `max_slice_raw`, sizes within 1 unit.

    The slices always sum to `total_raw` exactly.
    """
    _, count = first_slice(total_raw, max_slice_raw)
    if count == 0:
        return ()
    size, extra = divmod(total_raw, count)
    return tuple(size + 1 if i < extra else size for i in range(count))


def first_slice(total_raw: int, max_slice_raw: int | None) -> tuple[int, int]:
    """(the first of `plan_slices(total_raw, max_slice_raw)`, how many there are), in O(1)."""
    if total_raw <= 0:
        return 0, 0
    if max_slice_raw is None or max_slice_raw >= total_raw:
        return total_raw, 1
    if max_slice_raw <= 0:
        raise ValueError(f"max_slice_raw must be > 0, got {max_slice_raw}")
    count = -(-total_raw // max_slice_raw)
    size, extra = divmod(total_raw, count)
    return size + (1 if extra else 0), count


class _Book:
    """The portfolio as the moves planned so far leave it: USD per holding and per cap group."""

    def __init__(self, holdings: Iterable[YieldHolding]):
        self.holdings = {h.id: h for h in holdings}
        self.movable_raw = {h.id: h.amount.raw for h in self.holdings.values()}
        self.deposit_room = {h.id: h.max_deposit for h in self.holdings.values()}
        self._totals: dict[tuple[str, object], Decimal] = defaultdict(lambda: ZERO)
        for h in self.holdings.values():
            self._add(h, h.value_usd)

    def _add(self, holding: YieldHolding, usd: Decimal) -> None:
        for key in _groups(holding):
            self._totals[key] += usd

    def protocol_usd(self, protocol: str) -> Decimal:
        return self._totals[("protocol", protocol)]

    def strategy_usd(self, strategy: str) -> Decimal:
        return self._totals[("strategy", strategy)]

    def stablecoin_usd(self) -> Decimal:
        return self._totals[("stablecoin", True)]

    def movable_usd(self, holding: YieldHolding) -> Decimal:
        return TokenAmount(self.movable_raw[holding.id], holding.amount.decimals).value(
            holding.price_usd
        )

    def apply(self, source: YieldHolding, destination: YieldHolding, raw: int, usd: Decimal):
        self.movable_raw[source.id] -= raw
        self._add(source, -usd)
        self._add(destination, usd)
        room = self.deposit_room[destination.id]
        if room is not None:
            with localcontext(MONEY_CONTEXT):
                received = to_raw(usd / destination.price_usd, destination.amount.decimals)
            self.deposit_room[destination.id] = max(0, room - received)


def _groups(holding: YieldHolding) -> tuple[tuple[str, object], ...]:
    return (
        ("protocol", holding.protocol),
        ("strategy", holding.strategy),
        ("stablecoin", holding.stablecoin),
    )


def _room(
    book: _Book, source: YieldHolding, destination: YieldHolding, params: MigrationParams
) -> tuple[Decimal, str]:
    """The most USD the caps let move from source to destination, and the binding limit."""
    caps = params.caps
    limits = [(book.movable_usd(source), f"{source.id} has nothing left to move")]
    if caps.single_protocol_max_usd is not None and destination.protocol != source.protocol:
        limits.append(
            (
                caps.single_protocol_max_usd - book.protocol_usd(destination.protocol),
                f"{destination.protocol} is at its protocol cap ${caps.single_protocol_max_usd:,}",
            )
        )
    if destination.strategy != source.strategy:
        band = caps.strategy_bands.get(destination.strategy)
        if band is not None:
            limits.append(
                (
                    band.max_usd - book.strategy_usd(destination.strategy),
                    f"strategy {destination.strategy} is at its band max ${band.max_usd:,}",
                )
            )
        band = caps.strategy_bands.get(source.strategy)
        if band is not None:
            limits.append(
                (
                    book.strategy_usd(source.strategy) - band.min_usd,
                    f"strategy {source.strategy} is at its band min ${band.min_usd:,}",
                )
            )
    if caps.stablecoin_min_usd is not None and source.stablecoin and not destination.stablecoin:
        limits.append(
            (
                book.stablecoin_usd() - caps.stablecoin_min_usd,
                f"stablecoins are at their minimum ${caps.stablecoin_min_usd:,}",
            )
        )
    room = book.deposit_room[destination.id]
    if room is not None:
        limits.append(
            (
                TokenAmount(room, destination.amount.decimals).value(destination.price_usd),
                f"{destination.id} accepts no more deposits",
            )
        )
    return min(limits, key=lambda limit: limit[0])


def _slippage(source: YieldHolding, destination: YieldHolding, table) -> Decimal | None:
    if source.asset == destination.asset:
        return ZERO
    return table.get((source.asset, destination.asset))


def _sized(
    book: _Book, source: YieldHolding, room_usd: Decimal, params: MigrationParams
) -> tuple[int, int, int]:
    """(this cycle's raw amount, how many slices in all, raw amount left for later cycles)."""
    decimals = source.amount.decimals
    if room_usd >= book.movable_usd(source):
        total = book.movable_raw[source.id]
    else:
        with localcontext(MONEY_CONTEXT):
            total = min(book.movable_raw[source.id], to_raw(room_usd / source.price_usd, decimals))
    max_slice = None
    if params.max_slice_usd is not None:
        with localcontext(MONEY_CONTEXT):
            max_slice = max(1, to_raw(params.max_slice_usd / source.price_usd, decimals))
    first, count = first_slice(total, max_slice)
    return first, count, total - first


def _adjusted(holding: YieldHolding, params: MigrationParams) -> Decimal:
    return holding.apy * params.risk_weight(holding.protocol)


def _move(kind, source, destination, raw, count, left, economics, why) -> Move:
    decimals = source.amount.decimals
    slice_note = f" (slice 1 of {count})" if count > 1 else ""
    payback = (
        f"payback {economics.payback_days:.1f} days"
        if economics.payback_days is not None
        else "no payback"
    )
    return Move(
        kind=kind,
        pool=source.pool,
        from_id=source.id,
        to_id=destination.id,
        amount=TokenAmount(raw, decimals),
        apy_from=source.apy,
        apy_to=destination.apy,
        economics=economics,
        slice_number=1,
        slices_total=count,
        remaining=TokenAmount(left, decimals),
        reason=(
            f"{source.id} -> {destination.id}: move ${round_usd(economics.amount_usd):,}"
            f"{slice_note}, {why}, gains ${round_usd(economics.annual_gain_usd):,}/yr,"
            f" costs ${round_usd(economics.cost_usd):,}, {payback}"
        ),
    )


def _restore_caps(book: _Book, params: MigrationParams, table, moves: list, notes: list):
    """Move a protocol above max + tolerance back down to max, best destinations first.

    Several destinations may share one source's excess; with slicing on, a source sends one
    slice per cycle and the rest follows in later cycles.
    """
    caps = params.caps
    if caps.single_protocol_max_usd is None:
        return
    cap = caps.single_protocol_max_usd
    tolerance = caps.single_protocol_tolerance_usd
    for protocol in sorted({h.protocol for h in book.holdings.values()}):
        if book.protocol_usd(protocol) <= cap + tolerance:
            continue
        excess, sliced = book.protocol_usd(protocol) - cap, False
        sources = sorted(
            (h for h in book.holdings.values() if h.protocol == protocol),
            key=lambda h: (_adjusted(h, params), h.id),
        )
        for source in sources:
            destinations = sorted(
                (
                    h
                    for h in book.holdings.values()
                    if h.pool == source.pool and h.protocol != protocol
                ),
                key=lambda h: (-_adjusted(h, params), h.id),
            )
            for destination in destinations:
                if excess <= 0 or book.movable_raw[source.id] <= 0:
                    break
                if cap <= book.protocol_usd(destination.protocol):
                    continue
                slippage = _slippage(source, destination, table)
                if slippage is None or slippage > params.max_slippage_bps:
                    continue
                room, _ = _room(book, source, destination, params)
                raw, count, left = _sized(book, source, min(room, excess), params)
                if raw <= 0:
                    continue
                usd = TokenAmount(raw, source.amount.decimals).value(source.price_usd)
                economics = price_move(source, destination, usd, params, slippage)
                reason = f"{protocol} holds more than its cap ${cap:,} + ${tolerance:,}"
                moves.append(_move("cap", source, destination, raw, count, left, economics, reason))
                book.apply(source, destination, raw, usd)
                excess -= usd
                if count > 1:
                    sliced = True
                    break
        if excess > 0:
            tail = "the rest follows in later slices" if sliced else "no destination has room"
            notes.append(
                NoMove(
                    pool="*",
                    holding_id=protocol,
                    reason=f"{protocol} is still ${round_usd(excess):,} over its cap: {tail}",
                )
            )


def plan_migrations(
    holdings: Iterable[YieldHolding],
    params: MigrationParams | None = None,
    *,
    swap_slippage_bps: Mapping[tuple[str, str], Decimal] | None = None,
) -> MigrationPlan:
    """Plan this cycle's migration legs.

    swap_slippage_bps: estimated slippage (bps) of swapping asset A into asset B, keyed (A, B),
        for pools that mix assets (USDC and DAI); moves between equal assets need none, and a
        cross-asset move without an estimate is not made.
    """
    params = params if params is not None else MigrationParams()
    table = swap_slippage_bps or {}
    book = _Book(holdings)
    moves: list[Move] = []
    notes: list[NoMove] = []
    _restore_caps(book, params, table, moves, notes)
    moved_from = {m.from_id for m in moves}

    pools = sorted({h.pool for h in book.holdings.values()})
    for pool in pools:
        members = [h for h in book.holdings.values() if h.pool == pool]
        sources = sorted(
            (h for h in members if book.movable_raw[h.id] > 0 and h.id not in moved_from),
            key=lambda h: (_adjusted(h, params), h.id),
        )
        for source in sources:
            better = sorted(
                (h for h in members if _adjusted(h, params) > _adjusted(source, params)),
                key=lambda h: (-_adjusted(h, params), h.id),
            )
            first_reason = None
            for destination in better:
                verdict = _try(book, source, destination, params, table)
                if isinstance(verdict, Move):
                    moves.append(verdict)
                    book.apply(
                        source, destination, verdict.amount.raw, verdict.economics.amount_usd
                    )
                    break
                first_reason = first_reason or f"to {destination.id}: {verdict.reason}"
            else:
                if first_reason is not None:
                    notes.append(NoMove(pool=pool, holding_id=source.id, reason=first_reason))
    return MigrationPlan(moves=tuple(moves), no_moves=tuple(notes))


def _try(book, source, destination, params, table) -> Move | Rejected:
    slippage = _slippage(source, destination, table)
    if slippage is None:
        return Rejected(f"no slippage estimate for {source.asset} -> {destination.asset}")
    room, binding = _room(book, source, destination, params)
    if room <= 0:
        return Rejected(binding)
    raw, count, left = _sized(book, source, room, params)
    usd = TokenAmount(raw, source.amount.decimals).value(source.price_usd)
    verdict = evaluate_move(source, destination, usd, params, slippage)
    if isinstance(verdict, Rejected):
        return verdict
    gap = f"risk-adjusted APY gap {verdict.risk_adjusted_gap * 100:.2f}%"
    return _move("yield", source, destination, raw, count, left, verdict, gap)
