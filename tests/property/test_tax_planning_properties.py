"""Properties of tax-aware planning, over generated treasuries with generated lots and past sales.

Every case goes through the real path: spec + snapshot + `TaxContext` -> drift -> strategy ->
re-buy rules, gains deferral, tax-ordered funding -> plan -> harvest pairs -> lot selection and
tax per sale -> `apply_plan`. The invariants: a tax-aware plan never spends more than is held,
never picks a lot twice (nor more of a lot than it holds), keeps every invariant of the
tax-blind planner when it does not harvest, and with tax disabled (or a context that knows
nothing) makes exactly the tax-blind plan. Each invariant is shown failing on a broken plan.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_planner_properties import CTX, PROFILE, treasuries, violations

from keeper.core.plan import Plan, apply_plan
from keeper.core.planner import Decision, decide
from keeper.core.synthetic import NOW
from keeper.core.taxcontext import TaxContext, to_lot_units
from keeper.tax import (
    AssetKind,
    HarvestSettings,
    Lot,
    LotPolicy,
    RealisedGain,
    TaxCategory,
    de_profile,
    eu_profile,
    uk_profile,
    us_profile,
)

D = Decimal
WHEN = datetime.fromtimestamp(NOW, tz=UTC)
PROFILES = {
    "us": lambda: us_profile(),
    "us-crypto-wash": lambda: us_profile(crypto_wash_sale=True),
    "de": lambda: de_profile(),
    "uk": lambda: uk_profile(),
    "eu-average": lambda: eu_profile(method=LotPolicy.AVERAGE, exemption_months=12),
}
POLICIES = {
    "US": [None, LotPolicy.FIFO, LotPolicy.LIFO, LotPolicy.HIFO, LotPolicy.TAX_MIN],
    "DE": [None, LotPolicy.FIFO],
    "UK": [None, LotPolicy.UK_MATCHING],
    "EU": [None, LotPolicy.AVERAGE],
}


@st.composite
def tax_contexts(draw, spec, snap, *, harvest: bool):
    """Lots for the treasury's holdings (never more units than held, sometimes fewer: a partial
    import), past sales at a loss inside and outside the re-buy window, a jurisdiction, a lot
    method, substitutes inside each class, and harvesting on or off."""
    profile = PROFILES[draw(st.sampled_from(sorted(PROFILES)))]()
    kinds = {a.name: draw(st.sampled_from(list(AssetKind))) for a in spec.assets}
    lots, history = [], []
    for p in snap.positions:
        if spec.asset(p.asset).cash or not p.liquid or p.raw == 0:
            continue
        left = p.raw
        n = draw(st.integers(0, 3))
        whole = draw(st.integers(0, 3)) > 0  # mostly a complete import, sometimes partial
        for i in range(n):
            if left <= 0:
                break
            qty = left if whole and i == n - 1 else draw(st.integers(1, left))
            left -= qty
            days = draw(st.integers(1, 1500))
            moment = WHEN - timedelta(days=days)
            value = p.price_usd * D(qty).scaleb(-p.decimals)
            basis = value * D(draw(st.integers(30, 250))) / 100 + D("0.01")
            lots.append(
                Lot(
                    f"{p.holding}#{i}",
                    p.asset,
                    kinds[p.asset],
                    p.venue,
                    to_lot_units(qty, p.decimals, p.decimals),
                    p.decimals,
                    basis,
                    moment,
                    moment,
                )
            )
        if draw(st.booleans()):
            sold = WHEN - timedelta(days=draw(st.integers(0, 45)))
            history.append(
                RealisedGain(
                    p.asset,
                    kinds[p.asset],
                    p.venue,
                    1,
                    p.decimals,
                    sold - timedelta(days=200),
                    sold,
                    D(90),
                    D(100),
                    TaxCategory.SHORT_TERM,
                    f"{p.holding}#sold",
                )
            )
    by_class: dict[str, list[str]] = {}
    for a in spec.assets:
        if not a.cash:
            by_class.setdefault(a.asset_class, []).append(a.name)
    substitutes = {}
    for members in by_class.values():
        if len(members) >= 2 and draw(st.booleans()):
            substitutes[members[0]] = members[1]
    fx = D(1) if profile.currency == "USD" else D(draw(st.sampled_from(["0.9", "1.1", "1.27"])))
    return TaxContext(
        profile=profile,
        lots=tuple(lots),
        history=tuple(history),
        policy=draw(st.sampled_from(POLICIES[profile.code])),
        fx_usd=fx,
        accounts={v.name: (v.name,) for v in spec.venues},
        kinds=kinds,
        substitutes=substitutes,
        harvest=(
            HarvestSettings(
                substitutes=substitutes, min_loss=D(draw(st.sampled_from([0, 50, 500])))
            )
            if harvest
            else None
        ),
    )


@st.composite
def calm_treasuries(draw):
    """Treasuries already on target (nothing to rebalance) on one venue, several assets per
    class: the loss-harvest pairs are what such a plan is made of."""
    from keeper.core.spec import VenueKind
    from keeper.core.synthetic import A, H, portfolio, venue

    kind = draw(st.sampled_from([VenueKind.CHAIN, VenueKind.CEX, VenueKind.BROKER]))
    v = venue(
        "v",
        kind,
        quote=None if kind is VenueKind.CHAIN else "USD",
        fee_bps=draw(st.integers(0, 30)),
        slippage_bps=draw(st.integers(0, 20)),
        min_trade=draw(st.sampled_from(["0", "100", "1000"])),
    )
    n = draw(st.integers(2, 5))
    values = [D(draw(st.integers(2_000, 50_000))) for _ in range(n)] + [D(10_000)]
    total = sum(values)
    names = [f"T{i}" for i in range(n)] + ["USD"]
    assets = [
        A(a, "cash" if a == "USD" else f"c{i % 2}", x / total, cash=a == "USD")
        for i, (a, x) in enumerate(zip(names, values, strict=True))
    ]
    holdings = [
        H(a, "v", x, "1" if a == "USD" else str(draw(st.integers(1, 500))), 2 if a == "USD" else 6)
        for a, x in zip(names, values, strict=True)
    ]
    return portfolio(assets, [v], holdings)


def lot_violations(tax: TaxContext, decision: Decision) -> list[str]:
    """A plan's lot selection: every lot it sells exists, and no lot gives more units than it
    holds across the whole plan (so none is picked twice)."""
    plan = decision.plan
    if plan.tax is None:
        return []
    held = {lot.lot_id: lot.quantity_raw for lot in tax.lots}
    used: dict[str, int] = {}
    out = []
    for line in plan.tax.lines:
        for m in line.disposal.matches:
            if m.lot.lot_id not in held:
                out.append(f"step {line.step} sells lot {m.lot.lot_id}, which is not held")
            used[m.lot.lot_id] = used.get(m.lot.lot_id, 0) + m.quantity_raw
    out += [
        f"lot {i} gives {q} units of its {held[i]}"
        for i, q in used.items()
        if i in held and q > held[i]
    ]
    steps = {t.step: t for t in plan.trades}
    for line in plan.tax.lines:
        t = steps[line.step]
        if t.sell_asset != line.asset:
            out.append(f"step {line.step}: lots of {line.asset} for a sale of {t.sell_asset}")
    return out


def _decide(case, data, *, harvest):
    spec, snap = case
    tax = data.draw(tax_contexts(spec, snap, harvest=harvest))
    return spec, snap, tax, decide(spec, snap, CTX, tax)


@PROFILE
@given(treasuries(), st.data())
def test_tax_plan__any_treasury_lots_and_rules__never_overspends_never_picks_a_lot_twice(
    case, data
):
    spec, snap, tax, d = _decide(case, data, harvest=True)
    apply_plan(snap, d.plan)  # raises if a step sells more than the holding has
    assert lot_violations(tax, d) == []


@PROFILE
@given(calm_treasuries(), st.data())
def test_harvest_pairs__calm_treasury__never_overspend_never_pick_a_lot_twice(case, data):
    spec, snap, tax, d = _decide(case, data, harvest=True)
    after = apply_plan(snap, d.plan)
    assert lot_violations(tax, d) == []
    for pair in d.plan.harvests:  # the pair keeps its class's exposure (less its costs)
        a, b = (spec.asset(x).asset_class for x in (pair.asset, pair.substitute))
        assert a == b
    sold = {t.sell_asset for t in d.plan.trades} - {"USD"}
    bought = {t.buy_asset for t in d.plan.trades} - {"USD"}
    assert not sold & bought
    assert after is not None


@PROFILE
@given(treasuries(), st.data())
def test_tax_plan__without_harvesting__keeps_every_invariant_of_the_planner(case, data):
    spec, snap, tax, d = _decide(case, data, harvest=False)
    assert violations(spec, snap, d.plan) == []
    assert lot_violations(tax, d) == []


@PROFILE
@given(treasuries())
def test_tax_disabled__any_treasury__exactly_the_tax_blind_plan(case):
    spec, snap = case
    blind = decide(spec, snap, CTX)
    off = decide(spec, snap, CTX, None)
    assert off == blind and off.plan.tax is None
    assert all(t.tax_usd is None for t in off.plan.trades)


@PROFILE
@given(treasuries(), st.sampled_from(sorted(PROFILES)))
def test_tax_context_that_knows_nothing__same_trades_as_the_tax_blind_plan(case, code):
    """No lots, no past sales, no substitutes, no harvesting: the tax step has nothing to act
    on, so the trades are the tax-blind ones (only their tax fields are filled in)."""
    spec, snap = case
    blind = decide(spec, snap, CTX).plan
    aware = decide(spec, snap, CTX, TaxContext(profile=PROFILES[code]())).plan
    assert [replace(t, tax_usd=None) for t in aware.trades] == list(blind.trades)
    assert aware.dropped == blind.dropped and aware.shortfalls == blind.shortfalls


# --- each invariant bites ------------------------------------------------------------------------


def _one_sale():
    from keeper.core.spec import VenueKind
    from keeper.core.synthetic import A, H, portfolio, venue

    spec, snap = portfolio(
        [A("BTC", "c", "0.5"), A("USDC", "cash", "0.5", cash=True)],
        [venue("cex", VenueKind.CEX, quote="USDC")],
        [H("BTC", "cex", "70000", "70000", 8), H("USDC", "cex", "30000", "1", 6)],
    )
    moment = WHEN - timedelta(days=400)
    lot = Lot("btc-1", "BTC", AssetKind.CRYPTO, "cex", 3 * 10**7, 8, D(6000), moment, moment)
    tax = TaxContext(profile=us_profile(), lots=(lot,), accounts={"cex": ("cex",)})
    return spec, snap, tax, decide(spec, snap, CTX, tax)


def test_lot_invariant__same_lot_sold_twice__caught():
    spec, snap, tax, d = _one_sale()
    assert lot_violations(tax, d) == []
    (line,) = d.plan.tax.lines
    twice = replace(d.plan.tax, lines=(line, replace(line, step=line.step)))
    found = lot_violations(tax, replace(d, plan=replace(d.plan, tax=twice)))
    assert any("gives" in v for v in found), found


def test_lot_invariant__lot_not_held__caught():
    spec, snap, tax, d = _one_sale()
    found = lot_violations(replace(tax, lots=()), d)
    assert any("not held" in v for v in found), found


def test_overspend_invariant__sale_larger_than_the_holding__caught():
    spec, snap, tax, d = _one_sale()
    (sale,) = [t for t in d.plan.trades if t.sell_asset == "BTC"]
    broken = Plan(strategy=d.plan.strategy, trades=(replace(sale, step=0, sell_raw=10**9),))
    with pytest.raises(ValueError, match="sells"):
        apply_plan(snap, broken)
