from decimal import Decimal

import pytest

from keeper.core.drift import compute_drift
from keeper.core.plan import Plan, apply_plan
from keeper.core.planner import decide
from keeper.core.spec import (
    Band,
    Cadence,
    HoldingKind,
    Limits,
    StrategyKind,
    StrategySpec,
    VenueKind,
)
from keeper.core.strategies import RunContext
from keeper.core.synthetic import NOW, A, H, portfolio, venue

D = Decimal
CTX = RunContext(NOW, scheduled=True, cadence=Cadence.WEEKLY)


def _plan(assets, venues, holdings, **kw):
    spec, snap = portfolio(assets, venues, holdings, **kw)
    return spec, snap, decide(spec, snap, CTX)


def test_direct_venue__sellers_and_buyers__at_most_n_plus_m_minus_1_legs_and_netted():
    assets = [A(n, "c", "0.2") for n in ("A1", "A2", "B1", "B2", "B3")]
    values = {"A1": "30000", "A2": "28000", "B1": "14000", "B2": "14000", "B3": "14000"}
    spec, snap, d = _plan(
        assets,
        [venue("dex", fee_bps=30, slippage_bps=10)],
        [H(a, "dex", v, "2") for a, v in values.items()],
    )
    plan = d.plan
    sellers = {t.sell_asset for t in plan.trades}
    buyers = {t.buy_asset for t in plan.trades}
    assert sellers == {"A1", "A2"} and buyers == {"B1", "B2", "B3"}
    assert not sellers & buyers
    assert len(plan.trades) <= 2 + 3 - 1
    after = compute_drift(spec, apply_plan(snap, plan))
    assert all(not r.status.out_of_band for r in after.assets)


def test_direct_venue__costs__from_venue_bps_and_gas_left_to_the_runner():
    spec, snap, d = _plan(
        [A("X", "c", "0.5"), A("Y", "c", "0.5")],
        [venue("dex", fee_bps=30, slippage_bps=20)],
        [H("X", "dex", "60000", "4", 8), H("Y", "dex", "40000", "1", 6)],
    )
    (t,) = d.plan.trades
    assert t.notional_usd == D(10_000)
    assert t.fee_usd == D(30) and t.slippage_usd == D(20)
    assert t.gas_usd is None and not t.cost_complete
    assert t.buy_raw == (10_000 - 50) * 10**6  # Y at $1, 6 decimals, after costs
    assert t.with_gas(D("4.2")).expected_cost_usd == D("54.2")


def test_via_quote_venue__sells_first__buys_funded_by_them_and_never_overspend():
    assets = [A("BTC", "c", "0.4"), A("ETH", "c", "0.4"), A("USDT", "cash", "0.2", cash=True)]
    cex = venue("cex", VenueKind.CEX, quote="USDT", fee_bps=10, slippage_bps=5)
    spec, snap, d = _plan(
        assets,
        [cex],
        [
            H("BTC", "cex", "50000", "60000", 8),
            H("ETH", "cex", "30000", "3000", 8),
            H("USDT", "cex", "20000", "1", 8),
        ],
    )
    plan = d.plan
    assert [(t.sell_asset, t.buy_asset) for t in plan.trades] == [("BTC", "USDT"), ("USDT", "ETH")]
    sell, buy = plan.trades
    assert buy.funded_by == (sell.step,) and sell.step < buy.step
    # the buy spends what the sell returns after costs (plus USDT's own sliver above target)
    usdt_spare = d.goal.move("USDT").may_sell if d.goal.move("USDT") else D(0)
    assert buy.notional_usd <= sell.notional_usd - sell.fee_usd - sell.slippage_usd + usdt_spare
    after = apply_plan(snap, plan)  # raises if any step sells more than is there
    assert after.position("cex:USDT").raw >= snap.position("cex:USDT").raw - usdt_spare * 10**8


def test_min_trade__tiny_leg__dropped_with_reason():
    spec, snap, d = _plan(
        [A("X", "c", "0.5"), A("Y", "c", "0.5")],
        [venue("dex", min_trade="10000")],
        [H("X", "dex", "54000"), H("Y", "dex", "46000")],
        band=Band(D("0.05"), D("0.1")),
    )
    assert d.plan.no_action
    assert "too small" in d.plan.no_action_reason
    (dropped,) = d.plan.dropped
    assert dropped.notional_usd == D(4000) and "minimum trade" in dropped.reason


def test_venue_lacks_cash__buys_scaled_in_proportion_and_shortfall_reported():
    # the broker must buy SPY and QQQ ($10k each) but only AGG (+$10k) sells there; the BTC excess
    # sits on another venue and cross-venue transfers are out of scope
    assets = [
        A("SPY", "etf", "0.25"),
        A("QQQ", "etf", "0.25"),
        A("AGG", "etf", "0.2"),
        A("USD", "cash", "0.1", cash=True),
        A("BTC", "crypto", "0.2"),
    ]
    broker = venue("ibkr", VenueKind.BROKER, quote="USD")
    spec, snap, d = _plan(
        assets,
        [broker, venue("dex")],
        [
            H("SPY", "ibkr", "15000"),
            H("QQQ", "ibkr", "15000"),
            H("AGG", "ibkr", "30000"),
            H("USD", "ibkr", "10000"),
            H("BTC", "dex", "30000"),
        ],
    )
    buys = {t.buy_asset: t.notional_usd for t in d.plan.trades if t.buy_asset in ("SPY", "QQQ")}
    assert buys["SPY"] == buys["QQQ"] == D(5_000)  # $10k of AGG split evenly between equal needs
    short = {(s.asset, s.side): s for s in d.plan.shortfalls}
    assert (
        short[("SPY", "buy")].unmet_usd == D(5_000)
        and "ibkr lacks the cash" in short[("SPY", "buy")].reason
    )
    assert short[("QQQ", "buy")].unmet_usd == D(5_000)
    assert "no buyer reachable at dex" in short[("BTC", "sell")].reason


def test_cash_reserve__cash_sells__stop_at_the_reserve():
    assets = [A("BTC", "c", "0.6"), A("USDC", "cash", "0.4", cash=True)]
    spec, snap, d = _plan(
        assets,
        [venue("dex")],
        [H("BTC", "dex", "30000"), H("USDC", "dex", "70000")],
        limits=Limits(cash_reserve_usd=D(65_000)),
    )
    spent = sum(t.notional_usd for t in d.plan.trades if t.sell_asset == "USDC")
    assert spent == D(5_000)
    assert any(s.asset == "BTC" and s.side == "buy" for s in d.plan.shortfalls)


def test_vault_holding__counts_for_drift__never_sold():
    assets = [A("USDC", "cash", "0.5", cash=True), A("ETH", "c", "0.5")]
    spec, snap, d = _plan(
        assets,
        [venue("dex")],
        [
            H("USDC", "dex", "10000", "1", 6),
            H("USDC", "dex", "60000", "1", 6, kind=HoldingKind.ERC4626),
            H("ETH", "dex", "30000"),
        ],
    )
    assert d.report.asset("USDC").value_usd == D(70_000)
    (t,) = d.plan.trades
    assert t.sell_holding == "dex:USDC" and t.notional_usd == D(10_000)
    assert any(s.asset == "USDC" and s.side == "sell" for s in d.plan.shortfalls)


def test_via_quote_venue__quote_unpriced__venue_skipped_with_note():
    assets = [A("BTC", "c", "0.4"), A("ETH", "c", "0.3"), A("USDT", "cash", "0.3", cash=True)]
    cex = venue("cex", VenueKind.CEX, quote="USDT")
    spec, snap, d = _plan(
        assets,
        [cex],
        [
            H("BTC", "cex", "60000"),
            H("ETH", "cex", "20000"),
            H("USDT", "cex", "30000", priced=False),
        ],
    )
    assert d.goal.has_must
    assert d.plan.no_action
    assert any("quote USDT" in n for n in d.plan.notes)


def test_unpriced_asset__never_traded():
    assets = [A("BTC", "c", "0.4"), A("ETH", "c", "0.3"), A("USDC", "cash", "0.3", cash=True)]
    spec, snap, d = _plan(
        assets,
        [venue("dex")],
        [
            H("BTC", "dex", "60000", priced=False),
            H("ETH", "dex", "10000"),
            H("USDC", "dex", "50000"),
        ],
    )
    assert all("BTC" not in (t.sell_asset, t.buy_asset) for t in d.plan.trades)
    assert d.plan.trades  # ETH is 12.5% vs 30% * 0.6/... of the priced rest: still traded


def test_plan__empty_without_reason__refused():
    with pytest.raises(ValueError):
        Plan(strategy=StrategyKind.THRESHOLD, trades=())


def test_cash_flow_strategy__plan__sells_only_cash():
    assets = [A("BTC", "c", "0.4"), A("ETH", "c", "0.4"), A("USDC", "cash", "0.2", cash=True)]
    spec, snap, d = _plan(
        assets,
        [venue("dex")],
        [H("BTC", "dex", "50000"), H("ETH", "dex", "20000"), H("USDC", "dex", "30000")],
        strategy=StrategySpec(kind=StrategyKind.CASH_FLOW),
    )
    assert {t.sell_asset for t in d.plan.trades} == {"USDC"}
    assert sum(t.notional_usd for t in d.plan.trades) == D(10_000)


def test_via_quote_venue__a_buy_below_minimum__sale_shrinks_so_no_proceeds_are_stranded():
    # BTC must sell ~$10,050; ETH must buy $10,000; SOL may absorb $50, under the $100 minimum.
    # Regression: the SOL buy used to be dropped after BTC was sold for it, leaving $50 in USDT.
    assets = [
        A("BTC", "c", "0.3"),
        A("ETH", "c", "0.3"),
        A("SOL", "c", "0.05"),
        A("USDT", "cash", "0.35", cash=True),
    ]
    cex = venue("cex", VenueKind.CEX, quote="USDT", fee_bps=10, slippage_bps=5, min_trade="100")
    spec, snap, d = _plan(
        assets,
        [cex],
        [
            H("BTC", "cex", "40050", "60000", 8),
            H("ETH", "cex", "20000", "3000", 8),
            H("SOL", "cex", "4950", "150", 8),
            H("USDT", "cex", "35000", "1", 8),
        ],
    )
    assert [(x.sell_asset, x.buy_asset) for x in d.plan.dropped] == [("USDT", "SOL")]
    after = apply_plan(snap, d.plan)
    usdt_gain = D(after.position("cex:USDT").raw - snap.position("cex:USDT").raw) / 10**8
    assert abs(usdt_gain) < D("0.01")
    assert {t.buy_asset for t in d.plan.trades} == {"USDT", "ETH"}
