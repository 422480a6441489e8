"""The tax of a plan's sales: which lots each sale consumes, and what each adds to the year's tax.

For every trade in step order that sells a non-cash asset, the lots it consumes are chosen by the
lot method (`keeper.tax.select_lots`: the configured one, else the tax-minimising one where the
law allows a choice) from the lots the selling venue holds (`TaxContext.sale_lots`), and removed
from the book, so no lot is picked twice and no sale consumes more than the lots hold. Its tax is
the marginal estimate after the sales before it (`keeper.tax.estimate_sale_tax` with the year so
far), so the trades' taxes add up to the plan's joint tax; a loss that a wash sale would disallow
is deferred, not counted as saved. The plan's `PlanTax` adds `keeper.tax.plan_tax_impact` of the
rebalance's sells for the preview's "Tax Impact Assessment".

Proceeds are the trade's notional net of fee and slippage, in the profile's currency. Selling
cash (stablecoins, broker USD) is taken as tax-free: a stablecoin bought and sold near $1 realises
nothing worth estimating. A sale whose lots are unknown keeps `tax_usd` None, with a note.

This module must not do I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from keeper.core.plan import Plan, PlanTax, TaxLine, Trade
from keeper.core.portfolio import Snapshot
from keeper.core.spec import PortfolioSpec
from keeper.core.taxcontext import TaxContext, to_lot_units
from keeper.money import MONEY_CONTEXT, ZERO, round_usd, to_decimal
from keeper.tax.estimate import estimate_sale_tax
from keeper.tax.jurisdictions import RebuyRule
from keeper.tax.model import Lot, LotPolicy, TaxCategory
from keeper.tax.planning import PlanTaxImpact, plan_tax_impact
from keeper.tax.selection import apply_disposal, select_lots


def apply_taxes(
    plan: Plan,
    spec: PortfolioSpec,
    snapshot: Snapshot,
    tax: TaxContext,
    *,
    specific: Mapping[int, Sequence[Lot]] | None = None,
    harvest_steps: frozenset[int] = frozenset(),
    with_impact: bool = True,
) -> Plan:
    """`plan` with each trade's `tax_usd`, the plan's `PlanTax`, and notes on what is unknown.

    `specific` names the lots a step sells (a loss harvest sells exactly its losing lots);
    `harvest_steps` are left out of the rebalance's `impact` (they are reported as harvests);
    `with_impact` False skips `impact` (an empty one) where only the lines are wanted.
    """
    when = tax.when(snapshot)
    profile = tax.profile
    ytd = tax.ytd(when)
    running: dict[TaxCategory, Decimal] = dict(ytd)
    book: dict[str, list[Lot]] = {}
    lines: list[TaxLine] = []
    trades: list[Trade] = []
    notes: list[str] = []
    sold: dict[str, list] = defaultdict(lambda: [0, ZERO, ZERO])  # raw, tokens, proceeds
    members: dict[str, list[str]] = defaultdict(list)  # identical group -> assets with lots
    for a in sorted({lot.asset for lot in tax.lots}):
        members[tax.group(a)].append(a)
    pools: dict[str, dict[str, Lot]] = defaultdict(dict)  # lots the rebalance may sell, per asset
    with localcontext(MONEY_CONTEXT):
        for t in plan.trades:
            asset = t.sell_asset
            if spec.asset(asset).cash:
                trades.append(replace(t, tax_usd=ZERO))
                continue
            held = book.setdefault(asset, list(tax.lots_of(asset)))
            given = (specific or {}).get(t.step)
            if given is not None:
                ids = {lot.lot_id for lot in given}
                pool = [lot for lot in held if lot.lot_id in ids]
            else:
                pool = tax.sale_lots(held, t.venue)
            if not pool:
                notes.append(
                    f"{asset}: no lots for the sale on {t.venue}: its tax is not estimated; "
                    "add its acquisitions to the lots file (tax.lots)"
                )
                trades.append(t)
                continue
            decimals = pool[0].decimals
            quantity = to_lot_units(t.sell_raw, t.sell_decimals, decimals)
            have = sum(lot.quantity_raw for lot in pool)
            if quantity > have:
                notes.append(
                    f"{asset}: the lots on {t.venue} hold {to_decimal(have, decimals)} but the "
                    f"plan sells {to_decimal(quantity, decimals)}: its tax is not estimated; "
                    "add the missing acquisitions to the lots file (tax.lots)"
                )
                trades.append(t)
                continue
            proceeds = max(ZERO, tax.to_ccy(t.notional_usd - t.fee_usd - t.slippage_usd))
            disposal = select_lots(
                pool,
                asset,
                quantity,
                policy=tax.policy_for(pool[0]),
                profile=profile,
                when=when,
                proceeds=proceeds,
            )
            if t.step not in harvest_steps:
                for lot in pool:
                    pools[asset].setdefault(lot.lot_id, lot)
                sold[asset][0] += quantity
                sold[asset][1] += to_decimal(quantity, decimals)
                sold[asset][2] += proceeds
            held[:] = apply_disposal(held, disposal)
            remaining = [
                lot for a in members[tax.group(asset)] for lot in book.get(a, tax.lots_of(a))
            ]
            estimate = estimate_sale_tax(
                disposal, profile, ytd=running, remaining=remaining, identical=tax.identical
            )
            for category, amount in estimate.gains.items():
                running[category] = running.get(category, ZERO) + amount
            lines.append(
                TaxLine(
                    step=t.step,
                    asset=asset,
                    venue=t.venue,
                    disposal=disposal,
                    gains=dict(estimate.gains),
                    tax=estimate.tax,
                    deferred_loss=estimate.deferred_loss,
                )
            )
            trades.append(replace(t, tax_usd=tax.to_usd(estimate.tax)))
            notes += _loss_notes(asset, disposal.gain, estimate.deferred_loss, tax, when)
        impact = PlanTaxImpact({}, {}, ZERO, ZERO)
        if with_impact:
            impact = plan_tax_impact(
                {a: list(p.values()) for a, p in pools.items()},
                {a: (raw, proceeds / tokens) for a, (raw, tokens, proceeds) in sold.items() if raw},
                profile=profile,
                when=when,
                policy=tax.policy if tax.policy or tax.tax_min_default else _default(tax, pools),
                ytd=ytd,
                identical=tax.identical,
            )
        total = sum((ln.tax for ln in lines), ZERO)
        harvest_saved = -sum((ln.tax for ln in lines if ln.step in harvest_steps), ZERO)
    plan_tax = PlanTax(
        jurisdiction=profile.code,
        currency=profile.currency,
        fx_usd=tax.fx_usd,
        lines=tuple(lines),
        impact=impact,
        tax=total,
        harvest_saved=harvest_saved,
        policy=_policy_name(tax),
    )
    return replace(plan, trades=tuple(trades), tax=plan_tax, notes=plan.notes + _unique(notes))


def _default(tax: TaxContext, pools: Mapping[str, Mapping[str, Lot]]) -> LotPolicy | None:
    """The law's default method for the plan's sales (one kind's, they agree in every profile)."""
    for lots in pools.values():
        for lot in lots.values():
            return tax.profile.default_policy(lot.kind)
    return None


def _loss_notes(
    asset: str, gain: Decimal, deferred: Decimal, tax: TaxContext, when: datetime
) -> list[str]:
    out = []
    rules = tax.profile.rules(tax.kind_of(asset))
    if gain < 0 and rules.rebuy_rule is not RebuyRule.NONE and rules.rebuy_days_after > 0:
        until = tax.profile.local_date(when) + timedelta(days=rules.rebuy_days_after + 1)
        name = "wash sale" if rules.rebuy_rule is RebuyRule.WASH_SALE else "30-day rule"
        out.append(
            f"{asset} is sold at a loss: do not buy it back before {until.isoformat()} ({name})"
        )
    if deferred > 0:
        out.append(
            f"{asset}: {round_usd(deferred):,} {tax.profile.currency} of the loss is deferred "
            "into lots bought in the last 30 days (wash sale), not saved now"
        )
    return out


def _unique(notes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(notes))


def _policy_name(tax: TaxContext) -> str:
    if tax.policy is not None:
        return tax.policy.value
    return "tax_min where allowed" if tax.tax_min_default else "the law's default"
