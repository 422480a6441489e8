"""Re-buy rules around a loss: US wash sales, and the buy check that avoids them (and UK B&B).

This module owns three things:

- `apply_wash_sales`: for a realised loss on units the rule reaches, find replacement units
  acquired in the window (30 days before to 30 days after, IRC §1091(a)), earliest first; disallow
  the loss for as many units as were replaced, add it to the replacements' basis (§1091(d)) and
  carry the sold units' holding period over (§1223(3)). A replacement absorbs one loss only.
  Fewer replacement units than units sold disallow the loss in proportion.
- `lookback_disallowance`: the part of a prospective sale's loss that units already bought in
  the last 30 days would wash (so a planner does not count a loss it cannot deduct).
- `wash_sale_block`: before a buy, refuse it (or swap it for the configured substitute) when the
  same or a substantially identical asset was sold at a loss inside the window, under the US wash
  sale or the UK 30-day rule, which would re-match that sale with this buy (TCGA92/S106A(5)).

Substantially identical assets are grouped by `identical` (asset -> group name; default: each
asset is its own group). Nothing here does I/O; dates are the profile's local calendar dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from keeper.money import ZERO
from keeper.tax.jurisdictions import RebuyRule, TaxProfile
from keeper.tax.model import AssetKind, Disposal, Lot, RealisedGain, allocate


@dataclass(frozen=True, slots=True)
class FutureAcquisition:
    """An acquisition later in the history, as a possible replacement (replays only)."""

    event_id: str
    asset: str
    acquired_at: datetime


@dataclass(frozen=True, slots=True)
class PendingAdjustment:
    """A disallowed loss waiting for its (future) replacement acquisition to be booked."""

    event_id: str
    quantity_raw: int
    disallowed: Decimal
    held: timedelta  # how long the sold units had been held: tacked onto the replacement


@dataclass(frozen=True, slots=True)
class WashAdjustment:
    """One disallowed piece of a loss and the replacement it moved into (for reports)."""

    sold_lot_id: str
    sold_at: datetime
    replacement: str  # lot id (already held) or acquisition event id (bought later)
    quantity_raw: int
    disallowed: Decimal


@dataclass(frozen=True, slots=True)
class WashResult:
    disallowed: tuple[Decimal, ...]  # per match of the disposal
    lots: tuple[Lot, ...]  # the group's held lots, replacements split and adjusted
    pending: tuple[PendingAdjustment, ...]
    adjustments: tuple[WashAdjustment, ...]


@dataclass(frozen=True, slots=True)
class BuyDecision:
    """What a planned buy may do: go ahead, buy a substitute instead, or wait."""

    allowed: bool
    asset: str | None  # what to buy (the substitute when swapped); None when blocked
    requested: str
    reason: str
    blocked_until: date | None = None  # first day the requested asset may be bought again


def group_of(asset: str, identical: Mapping[str, str] | None) -> str:
    return identical.get(asset, asset) if identical else asset


def applies(profile: TaxProfile, kind: AssetKind, rule: RebuyRule) -> bool:
    return profile.rules(kind).rebuy_rule is rule


def apply_wash_sales(
    disposal: Disposal,
    kind: AssetKind,
    group_lots: Sequence[Lot],
    future: Iterable[FutureAcquisition],
    capacity: dict[str, int],
    profile: TaxProfile,
    *,
    sale_id: str,
) -> WashResult:
    """Disallow the losses of `disposal` that replacements wash, per §1091.

    `group_lots` are the lots of the substantially identical group still held after the sale (in
    every account: the rule looks at the taxpayer, not the account). `future` lists later
    acquisitions of the group, in order; `capacity` holds their units not yet used as
    replacements and is updated in place.
    """
    rules = profile.rules(kind)
    sale_day = profile.local_date(disposal.sold_at)
    first_day = sale_day - timedelta(days=rules.rebuy_days_before)
    last_day = sale_day + timedelta(days=rules.rebuy_days_after)

    held = {lot.lot_id: lot for lot in group_lots}
    order = [lot.lot_id for lot in group_lots]
    candidates: list[tuple[datetime, str, str]] = [  # (acquired, "lot"|"future", id)
        (lot.acquired_at, "lot", lot.lot_id)
        for lot in group_lots
        if not lot.replacement_used and first_day <= profile.local_date(lot.acquired_at) <= sale_day
    ]
    for acq in future:
        day = profile.local_date(acq.acquired_at)
        if day > last_day:
            break
        if capacity.get(acq.event_id, 0) > 0:
            candidates.append((acq.acquired_at, "future", acq.event_id))
    candidates.sort(key=lambda c: (c[0], c[2]))
    available = {
        cid: (held[cid].quantity_raw if src == "lot" else capacity[cid])
        for _, src, cid in candidates
    }

    disallowed: list[Decimal] = []
    pending: list[PendingAdjustment] = []
    adjustments: list[WashAdjustment] = []
    pieces = 0
    for match in disposal.matches:
        loss = -match.gain
        if loss <= 0 or not candidates:
            disallowed.append(ZERO)
            continue
        sold = match.lot
        period = disposal.sold_at - sold.holding_since
        plan: list[tuple[str, str, int]] = []
        left = sold.quantity_raw
        for _, src, cid in candidates:
            if left == 0:
                break
            qty = min(left, available[cid])
            if qty > 0:
                plan.append((src, cid, qty))
                available[cid] -= qty
                left -= qty
        if not plan:
            disallowed.append(ZERO)
            continue
        weights = [qty for _, _, qty in plan] + ([left] if left else [])
        parts = allocate(loss, weights)
        for (src, cid, qty), amount in zip(plan, parts, strict=False):
            pieces += 1
            adjustments.append(WashAdjustment(sold.lot_id, disposal.sold_at, cid, qty, amount))
            if src == "future":
                capacity[cid] -= qty
                pending.append(PendingAdjustment(cid, qty, amount, period))
                continue
            lot = held[cid]
            part, rest = lot.split(qty)
            adjusted = absorb(part, amount, period, new_id=f"{lot.lot_id}/w{sale_id}.{pieces}")
            held[adjusted.lot_id] = adjusted
            order.insert(order.index(cid), adjusted.lot_id)
            if rest is None:
                del held[cid]
                order.remove(cid)
            else:
                held[cid] = rest
        disallowed.append(sum(parts[: len(plan)], ZERO))
    return WashResult(
        disallowed=tuple(disallowed),
        lots=tuple(held[i] for i in order),
        pending=tuple(pending),
        adjustments=tuple(adjustments),
    )


def absorb(lot: Lot, disallowed: Decimal, held: timedelta, *, new_id: str | None = None) -> Lot:
    """`lot` as a replacement: basis plus the disallowed loss, holding period tacked on."""
    return replace(
        lot,
        lot_id=new_id or lot.lot_id,
        cost_basis=lot.cost_basis + disallowed,
        wash_adjustment=lot.wash_adjustment + disallowed,
        holding_since=lot.acquired_at - held,
        replacement_used=True,
    )


def lookback_disallowance(
    disposal: Disposal,
    kind: AssetKind,
    remaining: Iterable[Lot],
    profile: TaxProfile,
    identical: Mapping[str, str] | None = None,
) -> Decimal:
    """The loss of a prospective sale that units already bought in the window would disallow.

    Only acquisitions before the sale are known; buying within the 30 days after would disallow
    more, which `wash_sale_block` prevents.
    """
    if not applies(profile, kind, RebuyRule.WASH_SALE):
        return ZERO
    group = group_of(disposal.asset, identical)
    lots = [lot for lot in remaining if group_of(lot.asset, identical) == group]
    result = apply_wash_sales(disposal, kind, lots, (), {}, profile, sale_id="estimate")
    return sum(result.disallowed, ZERO)


def wash_sale_block(
    asset: str,
    kind: AssetKind,
    when: datetime,
    history: Iterable[RealisedGain],
    profile: TaxProfile,
    *,
    substitutes: Mapping[str, str] | None = None,
    identical: Mapping[str, str] | None = None,
) -> BuyDecision:
    """May we buy `asset` at `when`, given the loss sales in `history`?

    Blocked when a loss sale of the same group falls inside the re-buy window and the profile's
    rule reaches this kind: a US wash sale would defer that loss; a UK buy within 30 days would be
    matched with that sale. With a substitute configured (e.g. VGT for QQQ: similar exposure, a
    different index, so not substantially identical) the decision swaps the buy to it, provided
    the substitute is not blocked itself.
    """
    decision = _check(asset, kind, when, history, profile, identical)
    if decision.allowed or not substitutes or asset not in substitutes:
        return decision
    substitute = substitutes[asset]
    if group_of(substitute, identical) == group_of(asset, identical):
        return replace(
            decision,
            reason=decision.reason + f"; substitute {substitute} is substantially identical",
        )
    alternative = _check(substitute, kind, when, history, profile, identical)
    if not alternative.allowed:
        return replace(
            decision, reason=decision.reason + f"; substitute {substitute} is blocked too"
        )
    return BuyDecision(
        allowed=True,
        asset=substitute,
        requested=asset,
        reason=f"{decision.reason}; buying substitute {substitute} keeps the exposure",
        blocked_until=decision.blocked_until,
    )


def _check(
    asset: str,
    kind: AssetKind,
    when: datetime,
    history: Iterable[RealisedGain],
    profile: TaxProfile,
    identical: Mapping[str, str] | None,
) -> BuyDecision:
    rules = profile.rules(kind)
    if rules.rebuy_rule is RebuyRule.NONE or rules.rebuy_days_after <= 0:
        return BuyDecision(True, asset, asset, f"no re-buy rule for {kind.value} in {profile.code}")
    today = profile.local_date(when)
    group = group_of(asset, identical)
    last_loss: date | None = None
    for sale in history:
        if group_of(sale.asset, identical) != group or sale.proceeds >= sale.cost_basis:
            continue
        day = profile.local_date(sale.sold_at)
        if day <= today <= day + timedelta(days=rules.rebuy_days_after):
            last_loss = day if last_loss is None else max(last_loss, day)
    if last_loss is None:
        return BuyDecision(
            True, asset, asset, f"no loss sale of {asset} in the last {rules.rebuy_days_after} days"
        )
    until = last_loss + timedelta(days=rules.rebuy_days_after + 1)
    name = (
        "wash sale (IRC §1091)"
        if rules.rebuy_rule is RebuyRule.WASH_SALE
        else "30-day rule (TCGA92/S106A(5))"
    )
    return BuyDecision(
        allowed=False,
        asset=None,
        requested=asset,
        reason=f"{asset} was sold at a loss on {last_loss.isoformat()}: buying before "
        f"{until.isoformat()} triggers the {name}",
        blocked_until=until,
    )
