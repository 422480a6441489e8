"""The loss-harvesting signal, the advice to hold gains that are about to turn long-term, and the
December review.

This module owns the opportunity side of tax: which unrealised losses are worth realising now
(seed 000: "Minimum loss: $500", "Check similar ETFs", "Keep sector exposure"), paired with a
configured substitute so exposure stays, with the tax saved set against the trading cost; and
which gains to leave alone because waiting turns them long-term (US) or tax-free (DE crypto)
soon ("Prefer selling 1yr+ positions", "Hold appreciated ETF positions").

Priorities:
  HIGH    a loss of at least `min_loss` that is deep (>= `deep_loss_bps` of its basis, default
          10%): the most tax saved per unit of value traded, so per unit of cost and drift.
  MEDIUM  a gain worth holding (waiting saves at least `min_hold_saving`); in the December review
          also every shallow loss, since realising it before 31 December offsets this year's gains.
  LOW     a shallow loss outside December: harvest it with the regular rebalance if convenient.

A harvest sells the losing lots; under a wash-sale rule it also sells the lots bought in the
last 30 days, which would otherwise wash the loss (IRC §1091: replacements acquired within 30
days before the sale). Re-buying is then blocked for 30 days (`wash_sale.wash_sale_block`).
The tax saved is the marginal estimate (`estimate`), so a loss that cannot be deducted (DE crypto
held over a year, tax-free both ways) saves nothing and is not proposed. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum
from types import MappingProxyType

from keeper.money import BPS, MONEY_CONTEXT, ZERO, bps_of
from keeper.tax.estimate import estimate_sale_tax, marginal_tax
from keeper.tax.holding import days_until_more_than
from keeper.tax.jurisdictions import RebuyRule, TaxProfile
from keeper.tax.model import AssetKind, Lot, LotPolicy, TaxCategory
from keeper.tax.selection import lots_by_asset, select_lots


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


@dataclass(frozen=True)
class HarvestSettings:
    """The signal's knobs; defaults follow seed 000 where it gives a figure."""

    min_loss: Decimal = Decimal(500)  # seed 000: "Minimum loss: $500"
    deep_loss_bps: int = 1_000  # a loss of >= 10% of basis is HIGH priority
    cost_bps: Mapping[AssetKind, int] = field(
        default_factory=lambda: MappingProxyType({AssetKind.SECURITY: 10, AssetKind.CRYPTO: 30})
    )  # one-way trading cost; seed 000: "Trading fee impact: Max 0.1%" for ETFs
    hold_horizon_days: int = 90  # gains turning favourable within this many days are held
    min_hold_saving: Decimal = Decimal(50)  # ... if waiting saves at least this (below: noise)
    substitutes: Mapping[str, str] = field(default_factory=dict)  # e.g. {"QQQ": "VGT"}
    identical: Mapping[str, str] | None = None  # substantially identical groups
    december_review: bool | None = None  # None: on from 1 December to year end


@dataclass(frozen=True, slots=True)
class HarvestCandidate:
    asset: str
    kind: AssetKind
    lots: tuple[Lot, ...]  # the lots to sell
    quantity_raw: int
    market_value: Decimal
    loss: Decimal  # positive: the net loss realised (after any gains on recent lots sold with it)
    loss_bps: int  # loss as basis points of the lots' basis
    tax_saved: Decimal
    trading_cost: Decimal  # sell now and buy the substitute (or buy back later)
    substitute: str | None
    priority: Priority
    rebuy_after: date | None  # first day the asset itself may be bought back
    reason: str

    @property
    def net_benefit(self) -> Decimal:
        return self.tax_saved - self.trading_cost


@dataclass(frozen=True, slots=True)
class HoldAdvice:
    asset: str
    lots: tuple[Lot, ...]  # gain lots that turn favourable within the horizon
    gain: Decimal
    days_to_wait: int
    tax_saved_by_waiting: Decimal
    priority: Priority
    reason: str


@dataclass(frozen=True)
class HarvestSignal:
    when: datetime
    december_review: bool
    harvest: tuple[HarvestCandidate, ...]
    hold: tuple[HoldAdvice, ...]
    realised_gains_ytd: Decimal  # net realised gain this tax year (from `ytd`)
    harvest_total: Decimal  # sum of the proposed losses


def harvest_candidates(
    lots: Iterable[Lot],
    prices: Mapping[str, Decimal],
    when: datetime,
    profile: TaxProfile,
    settings: HarvestSettings | None = None,
    *,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
) -> HarvestSignal:
    """The harvesting opportunities and hold advice for `lots` at `prices` (per whole token)."""
    settings = settings or HarvestSettings()
    today = profile.local_date(when)
    december = (
        settings.december_review if settings.december_review is not None else today.month == 12
    )
    year = profile.tax_year(when)
    harvest: list[HarvestCandidate] = []
    hold: list[HoldAdvice] = []
    for asset, held in sorted(lots_by_asset(lots).items()):
        price = prices.get(asset)
        if price is None:
            continue
        candidate = _harvest(asset, held, price, when, today, profile, settings, ytd, december)
        if candidate is not None:
            harvest.append(candidate)
        advice = _hold(asset, held, price, when, today, profile, settings, year)
        if advice is not None:
            hold.append(advice)
    harvest.sort(key=lambda c: (PRIORITY_ORDER[c.priority], -c.net_benefit, c.asset))
    hold.sort(key=lambda h: (-h.tax_saved_by_waiting, h.asset))
    realised = sum((v for v in (ytd or {}).values()), ZERO)
    return HarvestSignal(
        when=when,
        december_review=december,
        harvest=tuple(harvest),
        hold=tuple(hold),
        realised_gains_ytd=realised,
        harvest_total=sum((c.loss for c in harvest), ZERO),
    )


def _harvest(
    asset: str,
    held: list[Lot],
    price: Decimal,
    when: datetime,
    today: date,
    profile: TaxProfile,
    settings: HarvestSettings,
    ytd: Mapping[TaxCategory, Decimal] | None,
    december: bool,
) -> HarvestCandidate | None:
    kind = held[0].kind
    rules = profile.rules(kind)
    selling, recent = _lots_to_harvest(held, price, today, profile)
    if not selling:
        return None
    quantity = sum(lot.quantity_raw for lot in selling)
    disposal = select_lots(
        selling, asset, quantity, policy=rules.policies[0], profile=profile, when=when, price=price
    )
    loss = -disposal.gain
    if loss < settings.min_loss:
        return None
    basis = disposal.cost_basis
    with localcontext(MONEY_CONTEXT):
        loss_bps = int(loss * BPS / basis) if basis > 0 else 0
        value = disposal.proceeds
        cost = bps_of(value, settings.cost_bps.get(kind, 0)) * 2
    tax_saved = -estimate_sale_tax(disposal, profile, ytd=ytd).tax
    if tax_saved - cost <= 0:
        return None
    substitute = settings.substitutes.get(asset)
    rebuy_after = (
        today + timedelta(days=rules.rebuy_days_after + 1) if rules.rebuy_days_after else None
    )
    deep = loss_bps >= settings.deep_loss_bps
    if deep:
        priority, why = Priority.HIGH, f"loss of {loss_bps / 100:.1f}% of basis"
    elif december:
        priority, why = (
            Priority.MEDIUM,
            "December review: realise before year end to offset this year's gains",
        )
    else:
        priority, why = (
            Priority.LOW,
            f"shallow loss ({loss_bps / 100:.1f}% of basis): harvest with the next rebalance",
        )
    if rebuy_after and substitute:
        why += f"; hold {substitute} instead until {rebuy_after.isoformat()}"
    elif rebuy_after:
        why += f"; no substitute configured: do not re-buy {asset} before {rebuy_after.isoformat()}"
    elif substitute:
        why += f"; rotate into {substitute} to keep the exposure"
    if recent:
        why += (
            f"; also sells {len(recent)} lot(s) bought in the last "
            f"{rules.rebuy_days_before} days (wash sale)"
        )
    return HarvestCandidate(
        asset=asset,
        kind=kind,
        lots=tuple(selling),
        quantity_raw=quantity,
        market_value=disposal.proceeds,
        loss=loss,
        loss_bps=loss_bps,
        tax_saved=tax_saved,
        trading_cost=cost,
        substitute=substitute,
        priority=priority,
        rebuy_after=rebuy_after,
        reason=why,
    )


def _lots_to_harvest(
    held: list[Lot], price: Decimal, today: date, profile: TaxProfile
) -> tuple[list[Lot], list[Lot]]:
    """(lots to sell, of which bought recently) to realise the largest loss the law lets us pick.

    - Lots may be chosen (US): every losing lot, plus, under a wash-sale rule, the lots bought in
      the window before today, which would otherwise wash the loss.
    - Average cost or a pool (EU average, UK): units are interchangeable; the whole position if
      it stands at a loss.
    - FIFO only (DE): the oldest-first prefix with the largest cumulative loss.
    """
    rules = profile.rules(held[0].kind)
    if LotPolicy.AVERAGE in rules.policies or LotPolicy.UK_MATCHING in rules.policies:
        at_loss = sum((lot.value(price) for lot in held), ZERO) < sum(
            (lot.cost_basis for lot in held), ZERO
        )
        return (list(held) if at_loss else []), []
    if rules.policies == (LotPolicy.FIFO,):
        ordered = sorted(held, key=lambda lot: (lot.acquired_at, lot.lot_id))
        best, best_gain, running = 0, ZERO, ZERO
        for i, lot in enumerate(ordered, start=1):
            running += lot.value(price) - lot.cost_basis
            if running < best_gain:
                best, best_gain = i, running
        return ordered[:best], []
    losing = [lot for lot in held if lot.value(price) < lot.cost_basis]
    if not losing or rules.rebuy_rule is not RebuyRule.WASH_SALE:
        return losing, []
    window = timedelta(days=rules.rebuy_days_before)
    sold = {lot.lot_id for lot in losing}
    recent = [
        lot
        for lot in held
        if lot.lot_id not in sold and today - profile.local_date(lot.acquired_at) <= window
    ]
    return losing + recent, recent


def _hold(
    asset: str,
    held: list[Lot],
    price: Decimal,
    when: datetime,
    today: date,
    profile: TaxProfile,
    settings: HarvestSettings,
    year: int,
) -> HoldAdvice | None:
    rules = profile.rules(held[0].kind)
    if rules.after is None:
        return None
    waiting: list[Lot] = []
    gain_now: dict[TaxCategory, Decimal] = {}
    gain_later: dict[TaxCategory, Decimal] = {}
    days = 0
    boundary = profile.long_boundary(held[0].kind, when)
    for lot in held:
        if boundary is not None and lot.holding_since < boundary:
            continue  # already long-held: nothing to wait for
        gain = lot.value(price) - lot.cost_basis
        if gain <= 0:
            continue
        wait = days_until_more_than(
            profile.local_date(lot.holding_since),
            today,
            rules.holding_months,
            month_end_sticky=profile.month_end_sticky,
        )
        if wait > settings.hold_horizon_days:
            continue
        waiting.append(lot)
        days = max(days, wait)
        gain_now[rules.within] = gain_now.get(rules.within, ZERO) + gain
        gain_later[rules.after] = gain_later.get(rules.after, ZERO) + gain
    if not waiting:
        return None
    saving = marginal_tax(gain_now, profile, year) - marginal_tax(gain_later, profile, year)
    if saving < settings.min_hold_saving:
        return None
    gain = sum(gain_now.values(), ZERO)
    return HoldAdvice(
        asset=asset,
        lots=tuple(waiting),
        gain=gain,
        days_to_wait=days,
        tax_saved_by_waiting=saving,
        priority=Priority.MEDIUM,
        reason=f"{len(waiting)} appreciated lot(s) turn "
        f"{rules.after.value.replace('_', '-')} within {days} days",
    )
