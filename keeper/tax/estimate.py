"""Tax estimates: the tax a year's realised gains owe, and the marginal tax of one more sale.

This module owns turning realised gains by category into tax under a profile: netting (US short
against long), the loss deduction cap (US $3,000), yearly allowances (DE Freigrenze and
Sparer-Pauschbetrag, UK annual exempt amount) and the taxpayer's marginal rates. A sale's cost
to a planner is its *marginal* tax: tax(year so far + this sale) - tax(year so far), which
captures cliffs such as the Freigrenze (one euro over it makes the whole year's private sales
taxable). Losses a re-buy rule disallows are deferred, not saved, and are reported apart.

It is an estimate for planning, not a tax return: loss carry-forwards, church tax, US state tax
and the net investment income tax are not modelled. Nothing here does I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from keeper.money import MONEY_CONTEXT, ZERO
from keeper.tax.jurisdictions import AllowanceKind, TaxProfile
from keeper.tax.model import AssetKind, Disposal, Lot, RealisedGain, TaxCategory
from keeper.tax.wash_sale import lookback_disallowance


@dataclass(frozen=True, slots=True)
class TaxEstimate:
    """The estimated tax effect of one sale (negative: tax saved)."""

    tax: Decimal
    gains: Mapping[TaxCategory, Decimal]  # realised gain by category, after deferred losses
    deferred_loss: Decimal  # loss a wash sale moves into a lot held (deducted later, not now)
    tax_year: int


def totals_by_category(
    realised: Iterable[RealisedGain], profile: TaxProfile, tax_year: int
) -> dict[TaxCategory, Decimal]:
    """Net realised gain per category in `tax_year` (wash-sale adjusted, Form 8949 column h)."""
    totals: dict[TaxCategory, Decimal] = defaultdict(lambda: ZERO)
    for r in realised:
        if profile.tax_year(r.sold_at) == tax_year:
            totals[r.category] += r.gain
    return dict(totals)


def tax_for_year(
    totals: Mapping[TaxCategory, Decimal], profile: TaxProfile, tax_year: int
) -> Decimal:
    """Tax owed on a year's net gains by category (negative: a deduction's value)."""
    with localcontext(MONEY_CONTEXT):
        nets = {c: v for c, v in totals.items() if v}
        tax = ZERO
        if profile.netting:
            netted = _net(profile.netting, nets)
            for category, amount in netted.items():
                nets[category] = amount
        for category, amount in nets.items():
            tax += _taxable(category, amount, profile, tax_year) * profile.rate(category)
        if profile.netting and profile.loss_deduction_cap is not None:
            overall = sum((nets.get(c, ZERO) for c in profile.netting), ZERO)
            if overall < 0 and profile.loss_offset_category is not None:
                deduction = max(overall, -profile.loss_deduction_cap)
                tax += deduction * profile.rate(profile.loss_offset_category)
        return tax


def _net(
    order: tuple[TaxCategory, ...], nets: Mapping[TaxCategory, Decimal]
) -> dict[TaxCategory, Decimal]:
    """Schedule D netting: a net loss in one category reduces a net gain in the other."""
    values = {c: nets.get(c, ZERO) for c in order}
    losses = {c: -v for c, v in values.items() if v < 0}
    for loser, loss in losses.items():
        for other in order:
            if other == loser or values[other] <= 0 or loss == 0:
                continue
            used = min(loss, values[other])
            values[other] -= used
            values[loser] += used
            loss -= used
    return values


def _taxable(category: TaxCategory, amount: Decimal, profile: TaxProfile, tax_year: int) -> Decimal:
    if amount <= 0:
        return ZERO
    for allowance in profile.allowances:
        if category not in allowance.categories:
            continue
        limit = allowance.amount_for(tax_year)
        if allowance.kind is AllowanceKind.EXEMPTION_LIMIT and amount < limit:
            return ZERO
        if allowance.kind is AllowanceKind.ALLOWANCE:
            amount = max(ZERO, amount - limit)
    return amount


def marginal_tax(
    gains: Mapping[TaxCategory, Decimal],
    profile: TaxProfile,
    tax_year: int,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
) -> Decimal:
    """tax(ytd + gains) - tax(ytd): what realising `gains` now adds to the year's tax."""
    before = dict(ytd or {})
    after = defaultdict(lambda: ZERO, before)
    for category, amount in gains.items():
        after[category] += amount
    return tax_for_year(after, profile, tax_year) - tax_for_year(before, profile, tax_year)


def estimate_sale_tax(
    disposal: Disposal,
    profile: TaxProfile,
    *,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
    remaining: Iterable[Lot] | None = None,
    identical: Mapping[str, str] | None = None,
) -> TaxEstimate:
    """The marginal tax of `disposal` given the year's realised gains so far (`ytd`).

    `remaining` are the lots held after the sale: units of the same (or a substantially
    identical) asset bought in the last 30 days wash part of a loss under the US rule, and that
    part is reported as `deferred_loss` instead of saving tax now. Without `ytd` the sale is
    taken as the year's only one (allowances then absorb small gains).
    """
    if not disposal.matches:
        year = profile.tax_year(disposal.sold_at)
        return TaxEstimate(ZERO, {}, ZERO, year)
    kind = disposal.matches[0].lot.kind
    gains: dict[TaxCategory, Decimal] = defaultdict(lambda: ZERO)
    for m in disposal.matches:
        gains[profile.category(kind, m.lot.holding_since, disposal.sold_at)] += m.gain
    deferred = ZERO
    if remaining is not None:
        deferred = lookback_disallowance(disposal, kind, remaining, profile, identical)
        if deferred:
            _add_back(gains, disposal, kind, profile, deferred)
    year = profile.tax_year(disposal.sold_at)
    return TaxEstimate(marginal_tax(gains, profile, year, ytd), dict(gains), deferred, year)


def _add_back(
    gains: dict[TaxCategory, Decimal],
    disposal: Disposal,
    kind: AssetKind,
    profile: TaxProfile,
    deferred: Decimal,
) -> None:
    """Remove the deferred part from the losses, in the order the matches were washed."""
    left = deferred
    for m in disposal.matches:
        if left == 0:
            break
        if m.gain < 0:
            part = min(left, -m.gain)
            gains[profile.category(kind, m.lot.holding_since, disposal.sold_at)] += part
            left -= part


def unrealised_tax(lot: Lot, price: Decimal, profile: TaxProfile, when: datetime) -> Decimal:
    """Tax on selling all of `lot` at `price` at `when`, at the marginal rate of its category,
    without allowances: the per-lot yardstick used to rank lots and assets."""
    with localcontext(MONEY_CONTEXT):
        category = profile.category(lot.kind, lot.holding_since, when)
        return (lot.value(price) - lot.cost_basis) * profile.rate(category)
