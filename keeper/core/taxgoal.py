"""Tax-aware goals: what a strategy's `Goal` becomes before the planner matches it, for a taxable
treasury. Three pure decisions, each explained in the goal's notes:

- **Re-buy rules.** A buy of an asset sold at a loss inside the re-buy window (US wash sale,
  IRC §1091; UK 30-day rule, TCGA92/S106A(5)) is blocked (`keeper.tax.wash_sale_block`), or moved
  onto the configured substitute (seed 000: "check similar ETFs", "keep sector exposure": VGT for
  QQQ). A substitute that is overweight already holds the blocked asset's exposure: its sale is
  cut by as much, so the pair is left alone until the window ends. One that is not buys the
  need, as far as its own range allows.
- **Defer gains inside a class.** Where a class must shed value and the strategy split that
  among several overweight members, the split is redone so the members whose sale costs the least
  tax per unit sold go first (`keeper.tax.sale_options`: losses, then long-term gains, then short-
  term ones): seed 000's "hold appreciated ETF positions". A member's own requirement (it is past
  its band, or above the max single asset) is never reduced, and no member is taken further than
  0.9 of its soft band past its target, so the class reaches the same target within range.
- **Sell tiers.** Assets that only *may* sell (in band, above target) fund the must-buys in the
  order of their tax per unit sold (`sell_tiers`); the planner's matching fills one tier before
  the next.

Where every candidate costs the same (no lots, all cash) nothing changes: the plans are the ones
the planner makes without tax. This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, localcontext

from keeper.core.consolidate import CAP_MARGIN
from keeper.core.drift import APPROACH, DriftReport
from keeper.core.portfolio import Snapshot
from keeper.core.spec import PortfolioSpec, ReturnTo, StrategyKind
from keeper.core.strategies import Goal, Move, cap_usd
from keeper.core.taxcontext import TaxContext, asset_prices
from keeper.money import MONEY_CONTEXT, ZERO, round_usd
from keeper.tax.planning import sale_options
from keeper.tax.wash_sale import wash_sale_block


def apply_rebuy_rules(
    goal: Goal,
    report: DriftReport,
    spec: PortfolioSpec,
    snapshot: Snapshot,
    tax: TaxContext,
    may_trade: Callable[[str], bool],
) -> Goal:
    """The goal with buys the re-buy rules forbid blocked or moved onto their substitutes.

    `may_trade(asset)` says whether an asset may trade on this run at all (priced, allowed by the
    frequency matrix): a substitute that may not is not bought.
    """
    with localcontext(MONEY_CONTEXT):
        return _rebuy_rules(goal, report, spec, tax, tax.when(snapshot), may_trade)


def defer_gains(
    goal: Goal, report: DriftReport, spec: PortfolioSpec, snapshot: Snapshot, tax: TaxContext
) -> Goal:
    """The goal with each class's required sales split to sell what defers gains first."""
    with localcontext(MONEY_CONTEXT):
        return _defer_gains(goal, report, spec, snapshot, tax, tax.when(snapshot))


def tax_per_unit(
    asset: str,
    value_usd: Decimal,
    spec: PortfolioSpec,
    tax: TaxContext,
    prices: dict[str, Decimal],
    when: datetime,
) -> Decimal:
    """Estimated tax per unit of value raised by selling `value_usd` of `asset` now (negative for
    a loss). Cash, and assets whose lots cannot cover the sale, count as 0 (not estimated)."""
    if spec.asset(asset).cash or value_usd <= 0 or asset not in prices:
        return ZERO
    options = sale_options(
        {asset: tax.lots_of(asset)},
        [asset],
        tax.to_ccy(value_usd),
        prices={asset: tax.to_ccy(prices[asset])},
        profile=tax.profile,
        when=when,
        ytd=tax.ytd(when),
        identical=tax.identical,
    )
    return options[0].tax_per_unit_value if options else ZERO


def sell_tiers(
    goal: Goal, spec: PortfolioSpec, snapshot: Snapshot, tax: TaxContext
) -> dict[str, int] | None:
    """Tier per asset that may sell (0 first): ordered by tax per unit sold, so the matching
    spends the cheapest funding first. None when every candidate costs the same."""
    when = tax.when(snapshot)
    prices = asset_prices(snapshot)
    rates: dict[str, Decimal] = {}
    with localcontext(MONEY_CONTEXT):
        for m in goal.moves:
            if m.may_sell > 0:
                rates[m.asset] = tax_per_unit(m.asset, m.may_sell, spec, tax, prices, when)
    distinct = sorted(set(rates.values()))
    if len(distinct) <= 1:
        return None
    return {a: distinct.index(r) for a, r in rates.items()}


# --- re-buy rules -----------------------------------------------------------------------------


def _rebuy_rules(
    goal: Goal,
    report: DriftReport,
    spec: PortfolioSpec,
    tax: TaxContext,
    when: datetime,
    may_trade: Callable[[str], bool],
) -> Goal:
    moves = {m.asset: m for m in goal.moves}
    notes: list[str] = []
    for name in sorted(moves):
        m = moves.get(name)
        if m is None or not m.buys or spec.asset(name).cash:
            continue
        decision = wash_sale_block(
            name,
            tax.kind_of(name),
            when,
            tax.history,
            tax.profile,
            substitutes=tax.substitutes,
            identical=tax.identical,
        )
        if decision.allowed and decision.asset == name:
            continue
        del moves[name]
        need = m.must_buy + m.may_buy
        if not decision.allowed:
            notes.append(f"{name}: buy of ${round_usd(need):,} blocked: {decision.reason}")
            continue
        sub = decision.asset
        assert sub is not None
        notes.append(_substitute(moves, name, sub, m, report, spec, may_trade, decision.reason))
    if not notes:
        return goal
    kept = tuple(sorted((m for m in moves.values() if not m.empty), key=lambda m: m.asset))
    reason = goal.no_action_reason
    if reason is None and not any(m.must_sell or m.must_buy for m in kept):
        reason = "the re-buy rules leave nothing that must move"
    return replace(goal, moves=kept, notes=goal.notes + tuple(notes), no_action_reason=reason)


def _substitute(
    moves: dict[str, Move],
    name: str,
    sub: str,
    m: Move,
    report: DriftReport,
    spec: PortfolioSpec,
    may_trade: Callable[[str], bool],
    why: str,
) -> str:
    """Move `name`'s blocked buy onto `sub`; returns the note that says what happened."""
    need = m.must_buy + m.may_buy
    head = f"{name}: buy of ${round_usd(need):,} "
    if not spec.has_asset(sub):
        return head + f"blocked: {why}; substitute {sub} is not an asset of keeper.yaml"
    other = moves.get(sub)
    if other is not None and other.sells:
        held = min(need, other.must_sell + other.may_sell)
        cut_may = min(held, other.may_sell)
        moves[sub] = replace(
            other, may_sell=other.may_sell - cut_may, must_sell=other.must_sell - (held - cut_may)
        )
        return (
            head + f"not made: {why}; {sub} holds its exposure meanwhile "
            f"(its sale cut by ${round_usd(held):,})"
        )
    row = report.asset(sub)
    if not may_trade(sub) or row.drift_usd is None:
        return head + f"blocked: {why}; substitute {sub} may not trade now"
    room = -row.drift_usd + APPROACH * row.soft_usd
    cap = cap_usd(report, spec)
    if cap is not None and not spec.asset(sub).cash and row.value_usd is not None:
        room = min(room, cap * (1 - CAP_MARGIN) - row.value_usd)
    had_must = other.must_buy if other else ZERO
    had_may = other.may_buy if other else ZERO
    add = max(ZERO, min(need, room - had_must - had_may))
    if add <= 0:
        return head + f"blocked: {why}; substitute {sub} has no room in its band"
    add_must = min(m.must_buy, add)
    moves[sub] = Move(
        sub,
        must_buy=had_must + add_must,
        may_buy=had_may + add - add_must,
        reason=f"substitute for {name}",
    )
    rest = need - add
    tail = f"; ${round_usd(rest):,} more would leave {sub}'s band: not bought" if rest > 0 else ""
    return head + f"moved to {sub} (${round_usd(add):,}): {why}{tail}"


# --- deferring gains inside a class ------------------------------------------------------------


def _defer_gains(
    goal: Goal,
    report: DriftReport,
    spec: PortfolioSpec,
    snapshot: Snapshot,
    tax: TaxContext,
    when: datetime,
) -> Goal:
    if goal.strategy is StrategyKind.CASH_FLOW or not goal.moves:
        return goal
    moves = {m.asset: m for m in goal.moves}
    prices = asset_prices(snapshot)
    cap = cap_usd(report, spec)
    notes: list[str] = []
    for cls in spec.classes:
        sellers = [
            moves[a]
            for a in cls.assets
            if a in moves and moves[a].must_sell > 0 and not spec.asset(a).cash
        ]
        if len(sellers) < 2:
            continue
        own = {m.asset: min(m.must_sell, _own_need(m.asset, report, spec, cap)) for m in sellers}
        flexible = sum((m.must_sell - own[m.asset] for m in sellers), ZERO)
        if flexible <= 0:
            continue
        room: dict[str, Decimal] = {}
        for m in sellers:
            row = report.asset(m.asset)
            room[m.asset] = max(ZERO, row.drift_usd + APPROACH * row.soft_usd - own[m.asset])
        rate = {
            m.asset: tax_per_unit(m.asset, min(flexible, room[m.asset]), spec, tax, prices, when)
            for m in sellers
        }
        if len(set(rate.values())) <= 1:
            continue
        left = flexible
        assigned: dict[str, Decimal] = {}
        for a in sorted(rate, key=lambda a: (rate[a], a)):
            assigned[a] = min(left, room[a])
            left -= assigned[a]
        if left > 0:  # cannot happen: the strategy's own split fits; keep it if it does
            continue
        changed = False
        for m in sellers:
            must = own[m.asset] + assigned[m.asset]
            if must == m.must_sell:
                continue
            changed = True
            dev = report.asset(m.asset).drift_usd
            moves[m.asset] = replace(m, must_sell=must, may_sell=max(ZERO, dev - must))
        if changed:
            order = ", ".join(
                f"{a} ({_pct(rate[a])} tax per $ sold)"
                for a in sorted(rate, key=lambda a: (rate[a], a))
            )
            notes.append(f"class {cls.label}: sells first what defers gains: {order}")
    if not notes:
        return goal
    return replace(
        goal,
        moves=tuple(sorted(moves.values(), key=lambda m: m.asset)),
        notes=goal.notes + tuple(notes),
    )


def _own_need(asset: str, report: DriftReport, spec: PortfolioSpec, cap: Decimal | None) -> Decimal:
    """What an asset must sell for its own sake (past its band, or above the max single asset),
    as the banded strategies compute it; the rest of its must comes from its class."""
    row = report.asset(asset)
    need = ZERO
    if row.status.out_of_band and row.drift_usd is not None:
        inner = ZERO
        if (
            spec.strategy.kind is StrategyKind.BAND
            and spec.strategy.return_to is ReturnTo.EDGE
            and row.soft_usd is not None
        ):
            inner = row.soft_usd * (1 - spec.strategy.edge_margin)
        need = max(abs(row.drift_usd) - inner, ZERO)
    if cap is not None and row.value_usd is not None and row.value_usd > cap:
        need = max(need, row.value_usd - cap)
    return need


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.1')):+}%"
