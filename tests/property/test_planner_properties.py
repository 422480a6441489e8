"""Properties of the pure core, over generated treasuries (hypothesis).

Every generated case goes through the real path: spec + snapshot -> drift -> strategy -> plan ->
`apply_plan` (the portfolio after the plan at unchanged prices). The invariants live in
`violations`, which is also shown catching deliberately broken plans, so each is known to bite.
"""

from __future__ import annotations

import os
import random
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from keeper.core.drift import DriftReport, compute_drift
from keeper.core.plan import Plan, Trade, apply_plan
from keeper.core.planner import decide
from keeper.core.portfolio import Snapshot
from keeper.core.spec import (
    Band,
    BandMode,
    Cadence,
    Limits,
    Pairing,
    PortfolioSpec,
    StrategyKind,
    StrategySpec,
    VenueKind,
)
from keeper.core.strategies import RunContext
from keeper.core.synthetic import NOW, A, H, portfolio, venue

D = Decimal
CTX = RunContext(NOW, scheduled=True, cadence=Cadence.QUARTERLY)
# KEEPER_PROPERTY_EXAMPLES=2000 for a long run (before releases)
PROFILE = settings(
    max_examples=int(os.environ.get("KEEPER_PROPERTY_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- generated treasuries --------------------------------------------------------------------


@st.composite
def treasuries(
    draw,
    *,
    single_direct_venue: bool = False,
    strategy: StrategyKind | None = None,
    limits: bool = True,
):
    """A random treasury. With `single_direct_venue`, every asset trades on one DEX-like venue and
    token units are fine (6+ decimals): a $41 share with no fractions cannot land inside a $10
    band, which is a fact of the asset, not a planner property."""
    n = draw(st.integers(2, 7))
    names = [f"T{i}" for i in range(n)]
    cash = names[: draw(st.integers(0 if not limits else 1, 2))]
    weights = draw(st.lists(st.integers(1, 20), min_size=n, max_size=n))
    total_w = sum(weights)
    targets = [D(w * 10_000 // total_w) / 10_000 for w in weights]
    targets[-1] += 1 - sum(targets)
    classes = [f"c{draw(st.integers(0, 2))}" if a not in cash else "cash" for a in names]
    relative = draw(st.booleans())
    soft = D(draw(st.integers(15, 40))) / 100 if relative else D(draw(st.integers(1, 5))) / 100
    band = Band(soft, soft * 2, BandMode.RELATIVE if relative else BandMode.ABSOLUTE)
    if single_direct_venue:
        venues = [
            venue(
                "v0",
                VenueKind.CHAIN,
                fee_bps=draw(st.integers(0, 40)),
                slippage_bps=draw(st.integers(0, 30)),
                min_trade=draw(st.sampled_from(["0", "1", "5"])),
            )
        ]
    else:
        venues = []
        for i in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from([VenueKind.CHAIN, VenueKind.CEX, VenueKind.BROKER]))
            quote = None
            if kind is not VenueKind.CHAIN:
                if not cash:
                    kind = VenueKind.CHAIN
                else:
                    quote = draw(st.sampled_from(cash))
            venues.append(
                venue(
                    f"v{i}",
                    kind,
                    quote=quote,
                    fee_bps=draw(st.integers(0, 40)),
                    slippage_bps=draw(st.integers(0, 30)),
                    min_trade=draw(st.sampled_from(["0", "10", "100"])),
                )
            )
    holdings = []
    for a in names:
        where = [v.name for v in venues if v.quote == a]
        extra = draw(
            st.lists(
                st.sampled_from([v.name for v in venues]),
                min_size=0 if where else 1,
                max_size=len(venues),
                unique=True,
            )
        )
        for vname in sorted(set(where) | set(extra)):
            usd = D(draw(st.integers(0, 200_000)))
            price = D(draw(st.integers(1, 10_000_000))) / 100
            decimals = draw(
                st.sampled_from([6, 8, 18] if single_direct_venue else [0, 2, 6, 8, 18])
            )
            holdings.append(H(a, vname, usd, price, decimals))
    assets = [A(a, classes[i], targets[i], cash=a in cash) for i, a in enumerate(names)]
    kind = strategy or draw(st.sampled_from(list(StrategyKind)))
    lim = Limits()
    if limits:
        lim = Limits(
            cash_reserve_fraction=D(draw(st.integers(0, 10))) / 100,
            max_single_asset=draw(st.one_of(st.none(), st.just(max(targets) + D("0.1")))),
        )
    spec, snap = portfolio(
        assets,
        venues,
        holdings,
        band=band,
        class_band=band,
        strategy=StrategySpec(kind=kind),
        limits=lim,
    )
    assume(compute_drift(spec, snap).total_usd > 1_000)
    return spec, snap


# --- the invariants --------------------------------------------------------------------------


def _cash(spec: PortfolioSpec, report: DriftReport) -> Decimal:
    return sum((r.value_usd for r in report.assets if spec.asset(r.name).cash), D(0))


def violations(spec: PortfolioSpec, snap: Snapshot, plan: Plan) -> list[str]:
    """Every invariant a plan must keep, as a list of broken ones (empty: all hold)."""
    out = []
    try:
        after_snap = apply_plan(snap, plan)
    except ValueError as e:
        return [f"spends more than held: {e}"]
    before, after = compute_drift(spec, snap), compute_drift(spec, after_snap)
    # netting: an asset either sells or buys
    if {t.sell_asset for t in plan.trades} & {t.buy_asset for t in plan.trades} - {
        v.quote for v in spec.venues
    }:
        out.append("an asset both sells and buys")
    # order: a buy comes after the sells that fund it
    if any(f >= t.step for t in plan.trades for f in t.funded_by):
        out.append("a buy is ordered before the sell that funds it")
    # totals are conserved up to the stated costs (and round-down dust of at most one unit per leg)
    costs = plan.expected_cost_usd
    dust = sum(
        (_unit(snap, t.buy_holding) + _unit(snap, t.sell_holding) for t in plan.trades), D(0)
    )
    change = after.basis_usd - before.basis_usd
    if not (-costs - dust <= change <= 0):
        out.append(f"total changed by {change}, costs {costs}, dust {dust}")
    # cash reserve: never below the reserve, nor below where cash already was
    reserve = spec.limits.cash_reserve(before.total_usd)
    floor = min(_cash(spec, before), reserve)
    if _cash(spec, after) < floor - dust - D("0.01"):
        out.append(f"cash {_cash(spec, after)} below {floor}")
    # max single asset: an asset the plan buys ends under the cap. (An asset it does not buy may
    # still gain weight when costs shrink the total; its USD value does not grow.)
    cap = spec.limits.max_single_asset
    if cap is not None:
        bought = {t.buy_asset for t in plan.trades}
        for r in after.assets:
            if spec.asset(r.name).cash or r.current is None or r.name not in bought:
                continue
            was = before.asset(r.name).current or D(0)
            if r.current > max(cap, was):
                out.append(f"{r.name} bought above the max single asset: {r.current}")
    # cash-flow sells nothing but cash
    if plan.strategy is StrategyKind.CASH_FLOW:
        quotes = {v.quote for v in spec.venues if v.pairing is Pairing.VIA_QUOTE}
        sold = {t.sell_asset for t in plan.trades} - quotes
        if any(not spec.asset(a).cash for a in sold):
            out.append(f"cash-flow sold {sold}")
    # drift past the soft bands never grows (beyond what costs shift)
    if _excess(before) + costs + dust + D("0.01") < _excess(after):
        out.append(f"drift past the bands grew from {_excess(before)} to {_excess(after)}")
    return out


def _unit(snap: Snapshot, holding: str) -> Decimal:
    p = snap.position(holding)
    return p.price_usd * D(1).scaleb(-p.decimals)


def _excess(report: DriftReport) -> Decimal:
    return sum(
        (
            max(abs(r.drift_usd) - r.soft_usd, D(0))
            for r in report.assets
            if r.drift_usd is not None
        ),
        D(0),
    )


# --- properties ------------------------------------------------------------------------------


@PROFILE
@given(treasuries())
def test_plan__any_treasury__keeps_every_invariant(case):
    spec, snap = case
    plan = decide(spec, snap, CTX).plan
    assert violations(spec, snap, plan) == []


@PROFILE
@given(treasuries(strategy=StrategyKind.CASH_FLOW))
def test_cash_flow__any_treasury__never_sells_a_non_cash_asset(case):
    spec, snap = case
    plan = decide(spec, snap, CTX).plan
    assert violations(spec, snap, plan) == []


@PROFILE
@given(treasuries(single_direct_venue=True, strategy=StrategyKind.THRESHOLD, limits=False))
def test_threshold__one_venue_holds_everything__converges_in_one_plan(case):
    """Where every asset trades on one venue, a plan brings every asset inside its soft band, and
    planning again at the same prices says "no action"."""
    spec, snap = case
    plan = decide(spec, snap, CTX).plan
    after = apply_plan(snap, plan)
    report = compute_drift(spec, after)
    out = [r.name for r in report.assets if r.status.out_of_band]
    assert out == [], f"still out of band after the plan: {out}"
    again = decide(spec, after, CTX).plan
    assert again.no_action, again.trades


@PROFILE
@given(treasuries(), st.randoms(use_true_random=False))
def test_plan__listing_order_shuffled__same_plan(case, rnd: random.Random):
    spec, snap = case
    shuffled_spec = PortfolioSpec(
        assets=tuple(rnd.sample(spec.assets, len(spec.assets))),
        classes=tuple(rnd.sample(spec.classes, len(spec.classes))),
        venues=tuple(rnd.sample(spec.venues, len(spec.venues))),
        holdings=tuple(rnd.sample(spec.holdings, len(spec.holdings))),
        strategy=spec.strategy,
        limits=spec.limits,
    )
    shuffled_snap = Snapshot(tuple(rnd.sample(snap.positions, len(snap.positions))), snap.taken_at)
    assert decide(shuffled_spec, shuffled_snap, CTX).plan == decide(spec, snap, CTX).plan


# --- each invariant bites: deliberately broken plans ------------------------------------------


def _simple():
    return portfolio(
        [A("BTC", "c", "0.4"), A("ETH", "c", "0.3"), A("USDC", "cash", "0.3", cash=True)],
        [venue("dex", fee_bps=30)],
        [
            H("BTC", "dex", "30000", "60000", 8),
            H("ETH", "dex", "30000", "3000"),
            H("USDC", "dex", "40000", "1", 6),
        ],
        limits=Limits(cash_reserve_usd=D(35_000), max_single_asset=D("0.45")),
    )


def _plan_of(*trades: Trade) -> Plan:
    return Plan(
        strategy=StrategyKind.THRESHOLD,
        trades=tuple(replace(t, step=i) for i, t in enumerate(trades)),
    )


def _swap(snap, sell, buy, usd, *, buy_factor=D("0.997"), cost=D("0.003")):
    sp, bp = snap.position(f"dex:{sell}"), snap.position(f"dex:{buy}")
    sell_raw = int((D(usd) / sp.price_usd).scaleb(sp.decimals))
    buy_raw = int((D(usd) * buy_factor / bp.price_usd).scaleb(bp.decimals))
    return Trade(
        step=0,
        venue="dex",
        sell_asset=sell,
        sell_holding=sp.holding,
        sell_raw=sell_raw,
        sell_decimals=sp.decimals,
        buy_asset=buy,
        buy_holding=bp.holding,
        buy_raw=buy_raw,
        buy_decimals=bp.decimals,
        notional_usd=D(usd),
        fee_usd=D(usd) * cost,
        slippage_usd=D(0),
    )


@pytest.mark.parametrize(
    "broken,expected",
    [
        (lambda s: _plan_of(_swap(s, "ETH", "BTC", "40000")), "spends more than held"),
        (lambda s: _plan_of(_swap(s, "USDC", "BTC", "10000")), "cash"),
        (lambda s: _plan_of(_swap(s, "ETH", "BTC", "20000")), "max single asset"),
        (lambda s: _plan_of(_swap(s, "ETH", "BTC", "5000", buy_factor=D("1.01"))), "total changed"),
        (
            lambda s: _plan_of(_swap(s, "ETH", "BTC", "5000"), _swap(s, "BTC", "USDC", "1000")),
            "both sells and buys",
        ),
        (lambda s: _plan_of(_swap(s, "BTC", "ETH", "15000")), "drift past the bands grew"),
    ],
)
def test_invariants__deliberately_broken_plan__caught(broken, expected):
    spec, snap = _simple()
    found = violations(spec, snap, broken(snap))
    assert any(expected in v for v in found), found


def test_invariants__real_plan_of_the_same_treasury__clean():
    spec, snap = _simple()
    assert violations(spec, snap, decide(spec, snap, CTX).plan) == []
