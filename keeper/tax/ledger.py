"""The tax ledger: acquisitions, sales and own-account transfers replayed into lots and results.

This module owns the replay of a history (imported CSV today, the journal's fills and batch
events later) into open lots and realised gains, applying the profile's rules: lot selection
per account, wash sales with basis adjustment (US), and the UK matching rules (same day, 30
days, Section 104 pool). A transfer between own accounts carries the lots it moves (acquisition
date and basis unchanged): it is not a sale.

Events are plain values; replay is a pure function of (events, profile, settings). It does not
read files (`csv_import` parses text) and does not print (`reports`, the CLI).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from itertools import islice

from keeper.errors import ConfigError
from keeper.money import ZERO
from keeper.tax.jurisdictions import RebuyRule, TaxProfile
from keeper.tax.model import AssetKind, Lot, LotPolicy, RealisedGain, TaxCategory
from keeper.tax.selection import apply_disposal, select_lots
from keeper.tax.uk_matching import UkTrade, match_uk
from keeper.tax.wash_sale import (
    FutureAcquisition,
    PendingAdjustment,
    WashAdjustment,
    absorb,
    apply_wash_sales,
    group_of,
)


@dataclass(frozen=True, slots=True)
class Acquisition:
    """Units bought (or received in a taxable swap): `cost` is the total basis, fees included."""

    event_id: str
    at: datetime
    asset: str
    kind: AssetKind
    account: str
    quantity_raw: int
    decimals: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Sale:
    """Units sold (or given in a taxable swap): `proceeds` is net of fees. `lot_id` names the lot
    to sell (specific identification), where the profile allows choosing lots."""

    event_id: str
    at: datetime
    asset: str
    kind: AssetKind
    account: str
    quantity_raw: int
    decimals: int
    proceeds: Decimal
    lot_id: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Units moved between two accounts of the same owner: the lots move, nothing is realised."""

    event_id: str
    at: datetime
    asset: str
    kind: AssetKind
    from_account: str
    to_account: str
    quantity_raw: int
    decimals: int


Event = Acquisition | Sale | Transfer


@dataclass(frozen=True)
class LedgerResult:
    lots: tuple[Lot, ...]  # open lots (UK: one Section 104 pool per asset)
    realised: tuple[RealisedGain, ...]
    wash_adjustments: tuple[WashAdjustment, ...]


def replay(
    events: Iterable[Event],
    profile: TaxProfile,
    *,
    policy: LotPolicy | None = None,
    identical: Mapping[str, str] | None = None,
    until: datetime | None = None,
) -> LedgerResult:
    """Replay `events` (in time order; ties keep their given order) under `profile`.

    `policy` overrides the profile's default lot method where the law allows a choice; a Sale
    with a `lot_id` sells that lot. `until` ignores events after it (an as-of view).
    """
    kept = [e for e in events if until is None or e.at <= until]
    ordered = [e for _, e in sorted(enumerate(kept), key=lambda pair: (pair[1].at, pair[0]))]
    uk_kinds = {k for k, r in profile.kinds.items() if LotPolicy.UK_MATCHING in r.policies}
    uk_events = [e for e in ordered if e.kind in uk_kinds]
    lot_events = [e for e in ordered if e.kind not in uk_kinds]
    lots, realised, washes = _replay_lots(lot_events, profile, policy, identical)
    pools, uk_realised = _replay_uk(uk_events, profile)
    realised_all = sorted(realised + uk_realised, key=lambda r: (r.sold_at, r.asset, r.lot_id))
    return LedgerResult(
        lots=tuple(lots + pools), realised=tuple(realised_all), wash_adjustments=tuple(washes)
    )


def _replay_lots(
    events: Sequence[Event],
    profile: TaxProfile,
    policy: LotPolicy | None,
    identical: Mapping[str, str] | None,
) -> tuple[list[Lot], list[RealisedGain], list[WashAdjustment]]:
    book: dict[str, list[Lot]] = defaultdict(list)
    realised: list[RealisedGain] = []
    washes: list[WashAdjustment] = []
    pending: dict[str, list[PendingAdjustment]] = defaultdict(list)
    capacity: dict[str, int] = {
        e.event_id: e.quantity_raw for e in events if isinstance(e, Acquisition)
    }
    ids: set[str] = set()
    later = _acquisitions_by_group(events, identical)

    for index, event in enumerate(events):
        if isinstance(event, Acquisition):
            if event.event_id in ids:
                raise ConfigError(
                    f"lot id {event.event_id} appears twice; give every acquisition its own lot_id"
                )
            ids.add(event.event_id)
            book[event.asset].extend(_new_lots(event, pending.pop(event.event_id, [])))
        elif isinstance(event, Transfer):
            book[event.asset] = _transfer(book[event.asset], event, profile)
        else:
            realised.extend(
                _sell(
                    event, index, later, book, profile, policy, identical, pending, capacity, washes
                )
            )
    lots = [lot for asset in sorted(book) for lot in book[asset]]
    return lots, realised, washes


def _acquisitions_by_group(
    events: Sequence[Event], identical: Mapping[str, str] | None
) -> dict[str, tuple[list[int], list[FutureAcquisition]]]:
    """Per substantially identical group: (event positions, acquisitions), in event order, so a
    loss sale finds the acquisitions after it by bisection instead of scanning the history."""
    index: dict[str, tuple[list[int], list[FutureAcquisition]]] = {}
    for position, e in enumerate(events):
        if isinstance(e, Acquisition):
            positions, acquisitions = index.setdefault(group_of(e.asset, identical), ([], []))
            positions.append(position)
            acquisitions.append(FutureAcquisition(e.event_id, e.asset, e.at))
    return index


def _new_lots(event: Acquisition, adjustments: list[PendingAdjustment]) -> list[Lot]:
    lot = Lot(
        lot_id=event.event_id,
        asset=event.asset,
        kind=event.kind,
        account=event.account,
        quantity_raw=event.quantity_raw,
        decimals=event.decimals,
        cost_basis=event.cost,
        acquired_at=event.at,
        holding_since=event.at,
    )
    out: list[Lot] = []
    for n, adj in enumerate(adjustments, start=1):
        part, rest = lot.split(adj.quantity_raw)
        out.append(absorb(part, adj.disallowed, adj.held, new_id=f"{event.event_id}/w{n}"))
        if rest is None:
            return out
        lot = rest
    out.append(lot)
    return out


def _transfer(lots: list[Lot], event: Transfer, profile: TaxProfile) -> list[Lot]:
    """Move `event.quantity_raw` units between own accounts, oldest lots first (FIFO is the
    default identification in every profile that tracks lots per account)."""
    disposal = select_lots(
        lots,
        event.asset,
        event.quantity_raw,
        policy=LotPolicy.FIFO,
        profile=_fifo_allowed(profile, event.kind),
        when=event.at,
        proceeds=ZERO,
        account=event.from_account,
    )
    left = apply_disposal(lots, disposal)
    moved = [
        replace(m.lot, lot_id=f"{m.lot.lot_id}>{event.event_id}", account=event.to_account)
        for m in disposal.matches
    ]
    return left + moved


def _fifo_allowed(profile: TaxProfile, kind: AssetKind) -> TaxProfile:
    rules = profile.rules(kind)
    if LotPolicy.FIFO in rules.policies:
        return profile
    return replace(
        profile, kinds={**profile.kinds, kind: replace(rules, policies=(LotPolicy.FIFO,))}
    )


def _sell(
    event: Sale,
    index: int,
    later: dict[str, tuple[list[int], list[FutureAcquisition]]],
    book: dict[str, list[Lot]],
    profile: TaxProfile,
    policy: LotPolicy | None,
    identical: Mapping[str, str] | None,
    pending: dict[str, list[PendingAdjustment]],
    capacity: dict[str, int],
    washes: list[WashAdjustment],
) -> list[RealisedGain]:
    lots = book[event.asset]
    chosen = policy
    if event.lot_id is not None:
        lots = [lot for lot in lots if lot.origin == event.lot_id or lot.lot_id == event.lot_id]
        if not lots:
            raise ConfigError(
                f"sale {event.event_id}: lot_id {event.lot_id} is not held; check the lot_id column"
            )
        chosen = LotPolicy.FIFO if policy is None else policy
    disposal = select_lots(
        lots,
        event.asset,
        event.quantity_raw,
        policy=chosen,
        profile=profile,
        when=event.at,
        proceeds=event.proceeds,
        account=event.account,
    )
    book[event.asset] = apply_disposal(book[event.asset], disposal)

    disallowed = [ZERO] * len(disposal.matches)
    rules = profile.rules(event.kind)
    if rules.rebuy_rule is RebuyRule.WASH_SALE and any(m.gain < 0 for m in disposal.matches):
        group = group_of(event.asset, identical)
        members = [a for a in book if group_of(a, identical) == group]
        group_lots = [lot for a in members for lot in book[a]]
        positions, acquisitions = later.get(group, ([], []))
        future = islice(acquisitions, bisect_right(positions, index), None)
        result = apply_wash_sales(
            disposal, event.kind, group_lots, future, capacity, profile, sale_id=event.event_id
        )
        for asset in members:
            book[asset] = [lot for lot in result.lots if lot.asset == asset]
        for adj in result.pending:
            pending[adj.event_id].append(adj)
        washes.extend(result.adjustments)
        disallowed = list(result.disallowed)

    return [
        RealisedGain(
            asset=event.asset,
            kind=event.kind,
            account=event.account,
            quantity_raw=m.quantity_raw,
            decimals=event.decimals,
            acquired_at=m.lot.holding_since,
            sold_at=event.at,
            proceeds=m.proceeds,
            cost_basis=m.lot.cost_basis,
            category=profile.category(event.kind, m.lot.holding_since, event.at),
            lot_id=m.lot.lot_id,
            wash_disallowed=d,
        )
        for m, d in zip(disposal.matches, disallowed, strict=True)
    ]


def _replay_uk(
    events: Sequence[Event], profile: TaxProfile
) -> tuple[list[Lot], list[RealisedGain]]:
    """UK: one pool per asset across accounts (the owner's holding); transfers change nothing.

    The pool lot includes the last day's unmatched acquisitions; a planner estimating a sale on
    that same day should pass that day's buys as their own lots so the same-day rule sees them.
    """
    by_asset: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if not isinstance(event, Transfer):
            by_asset[event.asset].append(event)
    pools: list[Lot] = []
    realised: list[RealisedGain] = []
    for asset in sorted(by_asset):
        trades = by_asset[asset]
        first = trades[0]
        result = match_uk(
            (
                UkTrade(
                    profile.local_date(t.at),
                    isinstance(t, Acquisition),
                    t.quantity_raw,
                    t.cost if isinstance(t, Acquisition) else t.proceeds,
                )
                for t in trades
            ),
            asset=asset,
        )
        sold_at = {profile.local_date(t.at): t.at for t in trades if isinstance(t, Sale)}
        for d in result.disposals:
            rules = ", ".join(
                f"{m.rule.replace('_', ' ')}{' ' + m.acquired.isoformat() if m.acquired else ''}"
                for m in d.matches
            )
            realised.append(
                RealisedGain(
                    asset=asset,
                    kind=first.kind,
                    account="(pooled)",
                    quantity_raw=d.quantity_raw,
                    decimals=first.decimals,
                    acquired_at=None,
                    sold_at=sold_at[d.day],
                    proceeds=d.proceeds,
                    cost_basis=d.cost,
                    category=TaxCategory.CAPITAL_GAIN,
                    lot_id=f"s104:{asset}:{d.day.isoformat()}",
                    note=f"matched: {rules}",
                )
            )
        if result.pool_quantity_raw > 0:
            acquired = [t.at for t in trades if isinstance(t, Acquisition)]
            pools.append(
                Lot(
                    lot_id=f"s104:{asset}",
                    asset=asset,
                    kind=first.kind,
                    account="(pool)",
                    quantity_raw=result.pool_quantity_raw,
                    decimals=first.decimals,
                    cost_basis=result.pool_cost,
                    acquired_at=min(acquired),
                    holding_since=min(acquired),
                )
            )
    return pools, realised
