"""Properties of the migration planner: never a yield move at a loss, caps kept, slices exact.

The checks recompute every figure from the holdings and parameters, never from the move's own
economics, and each is shown failing once against a deliberately broken planner.
"""

from collections import defaultdict
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.money import MONEY_CONTEXT, TokenAmount
from keeper.signals import migration
from keeper.signals.migration import first_slice, plan_migrations, plan_slices
from keeper.signals.migration_rules import (
    MigrationParams,
    ProtocolCaps,
    StrategyBand,
    YieldHolding,
    price_move,
)

D = Decimal
PROTOCOLS = ("aave", "comet", "yearn", "morpho")
SLIPPAGE = {("USDC", "DAI"): D(4), ("DAI", "USDC"): D(6), ("USDC", "USDT"): D(25)}


@st.composite
def holdings(draw):
    result = []
    for pool, assets in (("usd", ("USDC", "DAI", "USDT")), ("eth", ("WETH",))):
        for n in range(draw(st.integers(min_value=1, max_value=5))):
            asset = draw(st.sampled_from(assets))
            decimals = 18 if asset in ("DAI", "WETH") else 6
            result.append(
                YieldHolding(
                    id=f"{pool}-{n}",
                    pool=pool,
                    protocol=draw(st.sampled_from(PROTOCOLS)),
                    strategy=draw(st.sampled_from(("lending", "farming"))),
                    asset=asset,
                    amount=TokenAmount(
                        draw(st.integers(min_value=0, max_value=2 * 10**6)) * 10**decimals, decimals
                    ),
                    price_usd=D(3_000)
                    if asset == "WETH"
                    else draw(st.sampled_from((D("0.999"), D(1), D("1.001")))),
                    apy=draw(st.decimals(min_value=0, max_value=D("0.15"), places=4)),
                    stablecoin=pool == "usd",
                    exit_fee_bps=draw(st.sampled_from((D(0), D(5), D(30)))),
                    entry_fee_bps=draw(st.sampled_from((D(0), D(2)))),
                    exit_gas_usd=draw(st.decimals(min_value=0, max_value=60, places=2)),
                    entry_gas_usd=draw(st.decimals(min_value=0, max_value=60, places=2)),
                    max_deposit=draw(
                        st.one_of(
                            st.none(),
                            st.integers(min_value=0, max_value=10**6).map(
                                lambda x, d=decimals: x * 10**d
                            ),
                        )
                    ),
                )
            )
    return result


@st.composite
def params(draw):
    band = lambda: st.one_of(st.none(), st.integers(min_value=0, max_value=5 * 10**6).map(D))  # noqa: E731
    protocol_max = draw(band())
    bands = {}
    for strategy in ("lending", "farming"):
        target = draw(band())
        if target is not None:
            bands[strategy] = StrategyBand(
                target, target * draw(st.sampled_from((D(0), D("0.1"), D("0.2"))))
            )
    return MigrationParams(
        min_apy_diff_bps=draw(st.sampled_from((D(0), D(10), D(50), D(200)))),
        max_slippage_bps=draw(st.sampled_from((D(0), D(10), D(30)))),
        max_gas_bps=draw(st.sampled_from((None, D("0.5"), D(1), D(10)))),
        horizon_days=draw(st.integers(min_value=1, max_value=365)),
        max_payback_days=draw(st.integers(min_value=1, max_value=365)),
        max_slice_usd=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=10**6).map(D))),
        min_move_usd=draw(st.sampled_from((D(0), D(500)))),
        risk_weights=draw(
            st.dictionaries(st.sampled_from(PROTOCOLS), st.sampled_from((D("0.5"), D("0.9"), D(1))))
        ),
        caps=ProtocolCaps(
            single_protocol_max_usd=protocol_max,
            single_protocol_tolerance_usd=draw(st.sampled_from((D(0), D(450)))),
            stablecoin_min_usd=draw(band()),
            strategy_bands=bands,
        ),
    )


def check_yield_moves_pay(plan, book, p: MigrationParams) -> None:
    """Every yield move gains more over the horizon than its stated costs, within the payback."""
    for move in plan.moves:
        if move.kind != "yield":
            continue
        src, dst = book[move.from_id], book[move.to_id]
        with localcontext(MONEY_CONTEXT):
            usd = move.amount.value(src.price_usd)
            gap = dst.apy * p.risk_weight(dst.protocol) - src.apy * p.risk_weight(src.protocol)
            slip = D(0) if src.asset == dst.asset else SLIPPAGE[(src.asset, dst.asset)]
            cost = (
                src.exit_gas_usd
                + dst.entry_gas_usd
                + usd * (src.exit_fee_bps + dst.entry_fee_bps + slip) / 10_000
            )
            gain = gap * usd * p.horizon_days / 365
            assert gain - cost > 0, move.reason
            assert cost / (gap * usd) * 365 <= p.max_payback_days, move.reason
            assert gap * 10_000 >= p.min_apy_diff_bps and slip <= p.max_slippage_bps
            if p.max_gas_bps is not None:
                assert (src.exit_gas_usd + dst.entry_gas_usd) * 10_000 <= usd * p.max_gas_bps


def check_caps_kept(plan, book, p: MigrationParams) -> None:
    """No protocol, strategy or stablecoin limit is newly broken or made worse."""
    before, after = defaultdict(D), defaultdict(D)
    moved_out = defaultdict(int)
    for h in book.values():
        for key in (("protocol", h.protocol), ("strategy", h.strategy), ("stable", h.stablecoin)):
            before[key] += h.value_usd
            after[key] += h.value_usd
    for move in plan.moves:
        src, dst = book[move.from_id], book[move.to_id]
        usd = move.amount.value(src.price_usd)
        moved_out[src.id] += move.amount.raw
        for key in (
            ("protocol", src.protocol),
            ("strategy", src.strategy),
            ("stable", src.stablecoin),
        ):
            after[key] -= usd
        for key in (
            ("protocol", dst.protocol),
            ("strategy", dst.strategy),
            ("stable", dst.stablecoin),
        ):
            after[key] += usd
        if dst.max_deposit is not None:
            assert usd / dst.price_usd <= TokenAmount(dst.max_deposit, dst.amount.decimals).tokens
    for holding_id, raw in moved_out.items():
        assert raw <= book[holding_id].amount.raw
    caps = p.caps
    for (kind, name), value in after.items():
        if kind == "protocol" and caps.single_protocol_max_usd is not None:
            assert value <= max(caps.single_protocol_max_usd, before[(kind, name)]), name
        if kind == "strategy" and name in caps.strategy_bands:
            band = caps.strategy_bands[name]
            assert value <= max(band.max_usd, before[(kind, name)]), name
            assert value >= min(band.min_usd, before[(kind, name)]), name
        if kind == "stable" and name and caps.stablecoin_min_usd is not None:
            assert value >= min(caps.stablecoin_min_usd, before[(kind, name)])


@settings(deadline=None, max_examples=200)
@given(holdings(), params())
def test_plan_migrations__any_portfolio__no_yield_move_at_a_loss(hs, p):
    plan = plan_migrations(hs, p, swap_slippage_bps=SLIPPAGE)
    check_yield_moves_pay(plan, {h.id: h for h in hs}, p)


@settings(deadline=None, max_examples=200)
@given(holdings(), params())
def test_plan_migrations__any_portfolio__caps_respected(hs, p):
    plan = plan_migrations(hs, p, swap_slippage_bps=SLIPPAGE)
    check_caps_kept(plan, {h.id: h for h in hs}, p)


totals_and_limits = st.integers(min_value=0, max_value=10**30).flatmap(
    lambda total: st.tuples(
        st.just(total),
        st.one_of(st.none(), st.integers(min_value=max(1, total // 2_000), max_value=10**30)),
    )
)


@given(totals_and_limits)
def test_plan_slices__any_total__sum_exact_each_within_limit_fewest_slices(total_and_limit):
    total, limit = total_and_limit
    slices = plan_slices(total, limit)
    assert sum(slices) == total
    assert first_slice(total, limit) == ((slices[0], len(slices)) if slices else (0, 0))
    if total and limit is not None:
        assert all(0 < s <= limit for s in slices)
        assert len(slices) == -(-total // limit)
        assert max(slices) - min(slices) <= 1


# --- the checks bite -----------------------------------------------------------------------------


def _accept_any_gap(source, destination, amount_usd, params, slippage_bps):
    """A broken rule: any positive APY gap is worth moving, costs ignored."""
    e = price_move(source, destination, amount_usd, params, slippage_bps)
    return e if e.risk_adjusted_gap > 0 else migration.Rejected("no gap")


def _ignore_caps(book, source, destination, params):
    """A broken sizing: caps ignored, everything movable moves."""
    return book.movable_usd(source), ""


def _scenario(gas: str):
    def h(id_, protocol, amount, apy):
        return YieldHolding(
            id_,
            "usd",
            protocol,
            "lending",
            "USDC",
            TokenAmount.of(amount, 6),
            D(1),
            D(apy),
            True,
            exit_gas_usd=D(gas),
            entry_gas_usd=D(gas),
        )

    return [h("aave", "aave", "1000", "0.03"), h("comet", "comet", "4000", "0.05")]


def test_check_yield_moves_pay__planner_that_ignores_costs__fails(monkeypatch):
    hs, p = _scenario(gas="40"), MigrationParams()
    assert plan_migrations(hs, p).moves == ()  # the real rule refuses it
    monkeypatch.setattr(migration, "evaluate_move", _accept_any_gap)
    plan = plan_migrations(hs, p)
    assert plan.moves  # the broken one moves $1,000 to gain $20/yr for $80 of gas
    with pytest.raises(AssertionError):
        check_yield_moves_pay(plan, {h.id: h for h in hs}, p)


def test_check_caps_kept__planner_that_ignores_caps__fails(monkeypatch):
    hs = _scenario(gas="1")
    p = MigrationParams(
        max_gas_bps=None,
        horizon_days=365,
        max_payback_days=365,
        caps=ProtocolCaps(single_protocol_max_usd=D(4_500)),
    )
    real = plan_migrations(hs, p)
    assert sum(m.amount.raw for m in real.moves) == 500 * 10**6  # stops at comet's $4,500
    check_caps_kept(real, {h.id: h for h in hs}, p)
    monkeypatch.setattr(migration, "_room", _ignore_caps)
    broken = plan_migrations(hs, p)
    with pytest.raises(AssertionError):
        check_caps_kept(broken, {h.id: h for h in hs}, p)
