"""Tax-aware choices the planner asks for: a trade's tax cost, and which asset of a class to sell.

This module owns two pure decisions:

- `trade_tax_cost`: the estimated marginal tax of selling a quantity now, under the profile's
  lot method (or the tax-minimising one where allowed), so a trade's cost can include its tax.
- `plan_tax_impact`: the joint tax of every sell leg of a plan (netted together, allowances
  applied once), for `keeper rebalance preview`'s "estimated tax impact".
- `sale_options`: to raise a value from an asset class, the tax each member asset would cost;
  the cheapest first. This is seed 000's "hold appreciated ETF positions": selling the member
  at a loss (or with long-term gains) instead of the appreciated one defers the gain.

The planner decides what to trade; this module only prices the tax of the candidates. It does
not read the journal or quotes: lots and prices come in as values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, localcontext

from keeper.money import MONEY_CONTEXT, ZERO, to_raw
from keeper.tax.estimate import TaxEstimate, estimate_sale_tax, marginal_tax
from keeper.tax.jurisdictions import TaxProfile
from keeper.tax.model import Disposal, Lot, LotPolicy, TaxCategory
from keeper.tax.selection import apply_disposal, lots_by_asset, select_lots


@dataclass(frozen=True, slots=True)
class SaleOption:
    """Selling `quantity_raw` of `asset` to raise about `proceeds`, and its estimated tax."""

    asset: str
    quantity_raw: int
    proceeds: Decimal
    realised_gain: Decimal
    estimate: TaxEstimate
    disposal: Disposal

    @property
    def tax(self) -> Decimal:
        return self.estimate.tax

    @property
    def tax_per_unit_value(self) -> Decimal:
        """Tax per unit of currency raised (the comparison that matters across assets)."""
        with localcontext(MONEY_CONTEXT):
            return self.tax / self.proceeds if self.proceeds else ZERO


def best_policy(profile: TaxProfile, lot: Lot) -> LotPolicy:
    """The tax-minimising method where the law allows a choice, else the mandated one."""
    allowed = profile.rules(lot.kind).policies
    return LotPolicy.TAX_MIN if LotPolicy.TAX_MIN in allowed else allowed[0]


def trade_tax_cost(
    lots: Iterable[Lot],
    asset: str,
    quantity_raw: int,
    *,
    price: Decimal,
    profile: TaxProfile,
    when: datetime,
    policy: LotPolicy | None = None,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
    account: str | None = None,
    identical: Mapping[str, str] | None = None,
) -> TaxEstimate:
    """The estimated marginal tax of selling `quantity_raw` of `asset` at `price` per token.

    `policy` None picks the tax-minimising method where allowed. Units of the asset bought in the
    last 30 days that stay held wash part of a loss (US): that part is `deferred_loss`.
    """
    held = [lot for lot in lots if lot.asset == asset]
    chosen = policy or (best_policy(profile, held[0]) if held else None)
    disposal = select_lots(
        held,
        asset,
        quantity_raw,
        policy=chosen,
        profile=profile,
        when=when,
        price=price,
        account=account,
    )
    return estimate_sale_tax(
        disposal, profile, ytd=ytd, remaining=apply_disposal(held, disposal), identical=identical
    )


@dataclass(frozen=True)
class PlanTaxImpact:
    """The estimated tax of a whole plan's sells: per leg, and jointly for the year."""

    legs: Mapping[str, TaxEstimate]  # asset -> that leg alone
    gains: Mapping[TaxCategory, Decimal]  # all legs together, after deferred losses
    tax: Decimal  # marginal tax of all legs together (negative: saved)
    deferred_loss: Decimal


def plan_tax_impact(
    lots: Iterable[Lot] | Mapping[str, Sequence[Lot]],
    sells: Mapping[str, tuple[int, Decimal]],
    *,
    profile: TaxProfile,
    when: datetime,
    policy: LotPolicy | None = None,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
    identical: Mapping[str, str] | None = None,
) -> PlanTaxImpact:
    """Tax of selling `sells` (asset -> (raw quantity, price per token)) now.

    The legs are estimated one by one (what each adds alone) and together: netting and yearly
    allowances make the joint figure differ from the sum of the legs.
    """
    book = lots if isinstance(lots, Mapping) else lots_by_asset(lots)
    legs: dict[str, TaxEstimate] = {}
    joint: dict[TaxCategory, Decimal] = {}
    for asset, (quantity_raw, price) in sells.items():
        estimate = trade_tax_cost(
            book.get(asset, ()),
            asset,
            quantity_raw,
            price=price,
            profile=profile,
            when=when,
            policy=policy,
            ytd=ytd,
            identical=identical,
        )
        legs[asset] = estimate
        for category, amount in estimate.gains.items():
            joint[category] = joint.get(category, ZERO) + amount
    year = profile.tax_year(when)
    return PlanTaxImpact(
        legs=legs,
        gains=joint,
        tax=marginal_tax(joint, profile, year, ytd),
        deferred_loss=sum((e.deferred_loss for e in legs.values()), ZERO),
    )


def sale_options(
    lots: Iterable[Lot] | Mapping[str, Sequence[Lot]],
    assets: Sequence[str],
    value: Decimal,
    *,
    prices: Mapping[str, Decimal],
    profile: TaxProfile,
    when: datetime,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
    identical: Mapping[str, str] | None = None,
) -> list[SaleOption]:
    """For each asset in `assets` holding at least `value`, the sale that raises `value` and its
    tax; ordered from the least tax to the most (ties: the smaller realised gain first).

    Quantities are rounded down to the token's smallest unit (never sell more than asked).
    """
    book = lots if isinstance(lots, Mapping) else lots_by_asset(lots)
    options: list[SaleOption] = []
    for asset in assets:
        held = list(book.get(asset, ()))
        price = prices.get(asset)
        if not held or price is None or price <= 0:
            continue
        decimals = held[0].decimals
        with localcontext(MONEY_CONTEXT):
            quantity_raw = to_raw(value / price, decimals, rounding=ROUND_DOWN)
        if quantity_raw <= 0 or quantity_raw > sum(lot.quantity_raw for lot in held):
            continue
        disposal = select_lots(
            held,
            asset,
            quantity_raw,
            policy=best_policy(profile, held[0]),
            profile=profile,
            when=when,
            price=price,
        )
        estimate = estimate_sale_tax(
            disposal,
            profile,
            ytd=ytd,
            remaining=apply_disposal(held, disposal),
            identical=identical,
        )
        options.append(
            SaleOption(asset, quantity_raw, disposal.proceeds, disposal.gain, estimate, disposal)
        )
    options.sort(key=lambda o: (o.tax, o.realised_gain, o.asset))
    return options
