"""From the core plan to venue legs: sides, symbols, amounts, reference and worst prices, the
plan id; and the per-venue execution settings taken from keeper.yaml. No network."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.config.loader import load_config_text
from keeper.core.plan import Plan, Trade
from keeper.core.spec import StrategyKind
from keeper.errors import ConfigError
from keeper.execution.venue_legs import plan_id, venue_legs
from keeper.money import BPS
from keeper.venues.connect import execution_config

D = Decimal
WBTC = "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"

CONFIG = """
version: 1
treasury: {name: Legs}
venues:
  chain: {kind: chain, chain_id: 1, account: "0x00000000000000000000000000000000000000aa", quote: USDC}
  binance: {kind: cex, exchange: binance, quote: USDT, fee_bps: 10, slippage_bps: 5}
  alpaca: {kind: broker, broker: alpaca, quote: USD, fee_bps: 0, slippage_bps: 5}
classes:
  all:
    assets:
      BTC: {target: 40%, holdings: [{venue: binance, symbol: BTC}, {venue: chain, token: "%s"}]}
      SPY: {target: 30%%, holdings: [{venue: alpaca, symbol: SPY, decimals: 9}]}
      USDT: {target: 10%%, holdings: [{venue: binance, symbol: USDT}]}
      USDC: {target: 10%%, holdings: [{venue: chain, token: "%s"}]}
      USD: {target: 10%%, price: {fixed: 1}, holdings: [{venue: alpaca, symbol: USD, decimals: 2}]}
execution: {slippage_tolerance: 0.5%%, use_limit_orders: %s, off_hours: %s}
"""


def config(tmp_path, *, limit_orders="true", off_hours="wait_for_open"):
    text = CONFIG.replace("40%,", "40%%,") % (WBTC, USDC, limit_orders, off_hours)
    return load_config_text(text, tmp_path / "keeper.yaml")


def trade(
    step,
    venue,
    sell,
    sell_holding,
    sell_raw,
    sell_dec,
    buy,
    buy_holding,
    price_sell,
    price_buy,
    buy_dec,
    cost_bps,
):
    """A trade sized the way the planner sizes it: buy_raw = value sold net of costs / buy price,
    rounded down to the buy holding's raw units."""
    notional = D(sell_raw).scaleb(-sell_dec) * price_sell
    net = notional * (1 - D(cost_bps) / BPS)
    buy_raw = int((net / price_buy).scaleb(buy_dec).to_integral_value(rounding=ROUND_DOWN))
    return Trade(
        step,
        venue,
        sell,
        sell_holding,
        sell_raw,
        sell_dec,
        buy,
        buy_holding,
        buy_raw,
        buy_dec,
        notional,
        D(0),
        D(0),
    )


def plan_of(*trades, taken_at=1_700_000_000):
    """A plan of `trades`, renumbered 0..n-1 as the planner numbers its steps."""
    steps = tuple(replace(t, step=i) for i, t in enumerate(trades))
    return Plan(StrategyKind.THRESHOLD, steps, total_usd=D(10**6), taken_at=taken_at)


SELL_BTC = trade(
    0, "binance", "BTC", "binance:BTC", 50_000_000, 8, "USDT", "binance:USDT", D(60000), D(1), 8, 15
)
SWAP_ON_CHAIN = trade(
    1, "chain", "USDC", "chain:" + USDC, 10**9, 6, "BTC", "chain:" + WBTC, D(1), D(60000), 8, 60
)
BUY_SPY = trade(
    2, "alpaca", "USD", "alpaca:USD", 4_500_000, 2, "SPY", "alpaca:SPY", D(1), D(450), 9, 5
)


def test_venue_legs__cex_sell_and_broker_buy__sides_symbols_amounts_and_prices(tmp_path):
    loaded = config(tmp_path)
    legs = venue_legs(plan_of(SELL_BTC, SWAP_ON_CHAIN, BUY_SPY), loaded)
    sell, buy = legs.specs  # the chain's swap goes to the batch, not here
    assert (sell.leg_index, sell.venue, sell.symbol, sell.side, sell.amount) == (
        0,
        "binance",
        "BTC/USDT",
        "sell",
        D("0.5"),
    )
    assert (buy.leg_index, buy.venue, buy.symbol, buy.side) == (2, "alpaca", "SPY", "buy")
    assert buy.amount == D(BUY_SPY.buy_raw).scaleb(-9)  # what the plan expects to receive
    assert legs.reference_prices == {("binance", "BTC/USDT"): D(60000), ("alpaca", "SPY"): D(450)}
    assert sell.worst_price == D(59700) and buy.worst_price == D("452.25")  # 0.5% tolerance
    assert sell.max_slippage_bps == 5 and buy.max_slippage_bps == 5
    assert {s.plan_id for s in legs.specs} == {legs.plan_id} and legs.venues == (
        "alpaca",
        "binance",
    )


def test_venue_legs__market_orders_configured__limit_may_use_the_whole_tolerance(tmp_path):
    legs = venue_legs(plan_of(SELL_BTC), config(tmp_path, limit_orders="false"))
    assert legs.specs[0].max_slippage_bps == 50


def test_venue_legs__trade_not_against_the_quote__refused_in_one_line(tmp_path):
    odd = trade(
        0, "binance", "BTC", "binance:BTC", 10**8, 8, "USDT", "binance:USDT", D(60000), D(1), 8, 15
    )
    odd = Trade(
        0,
        "binance",
        "BTC",
        "binance:BTC",
        odd.sell_raw,
        8,
        "SPY",
        "alpaca:SPY",
        1,
        9,
        D(1),
        D(0),
        D(0),
    )
    with pytest.raises(ConfigError, match="not against its quote USDT"):
        venue_legs(plan_of(odd), config(tmp_path))


def test_plan_id__same_plan_and_cycle__same_id_else_different():
    plan = plan_of(SELL_BTC, BUY_SPY)
    assert plan_id(plan, 7) == plan_id(plan_of(SELL_BTC, BUY_SPY), 7)
    others = {
        plan_id(plan, 8),
        plan_id(plan, None),
        plan_id(plan_of(SELL_BTC, BUY_SPY, taken_at=1_700_000_001), 7),
        plan_id(
            plan_of(
                trade(
                    0,
                    "binance",
                    "BTC",
                    "binance:BTC",
                    50_000_001,
                    8,
                    "USDT",
                    "binance:USDT",
                    D(60000),
                    D(1),
                    8,
                    15,
                )
            ),
            7,
        ),
    }
    assert plan_id(plan, 7) not in others and len(others) == 4


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return config(tmp_path_factory.mktemp("cfg"))


@settings(max_examples=100, deadline=None)
@given(
    price=st.decimals(min_value=D("0.01"), max_value=D(200_000), places=2),
    units=st.integers(min_value=1_000, max_value=10**6),
    side=st.sampled_from(["sell", "buy"]),
)
def test_venue_legs__any_trade__reference_is_the_snapshot_price_and_worst_is_stricter(
    loaded, price, units, side
):
    """The reference price is recovered from the trade alone to within one raw unit of what was
    bought; the worst price is the 0.5% tolerance beyond it, on the side that protects the leg."""
    if side == "sell":
        t = trade(
            0,
            "binance",
            "BTC",
            "binance:BTC",
            units * 10**6,
            8,
            "USDT",
            "binance:USDT",
            price,
            D(1),
            8,
            15,
        )
    else:
        t = trade(
            0,
            "alpaca",
            "USD",
            "alpaca:USD",
            units * 10**4,
            2,
            "SPY",
            "alpaca:SPY",
            D(1),
            price,
            9,
            5,
        )
    legs = venue_legs(plan_of(t), loaded)
    ref, spec = next(iter(legs.reference_prices.values())), legs.specs[0]
    bought = D(t.buy_raw).scaleb(-t.buy_decimals)
    one_unit = (
        price * D(1).scaleb(-t.buy_decimals) / bought
        if side == "buy"
        else D(1).scaleb(-8) / D(units)
    )
    assert abs(ref - price) <= price * one_unit + D("0.000001")
    slack = D("0.000002") + ref * D("1e-8")  # the reference is rounded to 6 places, worst to 10
    if side == "sell":
        assert abs(spec.worst_price - ref * D("0.995")) <= slack and spec.worst_price < ref
    else:
        assert abs(spec.worst_price - ref * D("1.005")) <= slack and spec.worst_price > ref


def test_execution_config__per_venue__broker_day_orders_exchange_gtc_off_hours_and_slices(tmp_path):
    loaded = config(tmp_path, off_hours="day_limit")
    broker, exchange = execution_config(loaded, "alpaca"), execution_config(loaded, "binance")
    assert (broker.time_in_force, broker.off_hours) == ("day", "day_limit")
    assert exchange.time_in_force == "gtc"
    assert broker.max_order_notional is None  # split_orders_above unset: one order per leg
