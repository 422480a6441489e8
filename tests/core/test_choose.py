"""Route choice (pure): net of gas, minimum out, refusals."""

from decimal import Decimal

import pytest

from keeper.quotes.base import BadQuote, NoRoute, Quote
from keeper.quotes.choose import choose_best, min_out, out_raw_per_wei, rank

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ROUTER = "0x" + "ab" * 20


def quote(source, out, gas, *, amount_in=10**18, calldata="0x01"):
    return Quote(
        source, 1, WETH, USDC, amount_in, out, ROUTER if calldata else "", ROUTER, calldata, 0, gas
    )


def test_min_out__fifty_bps__rounds_down():
    assert min_out(1_000_001, 50) == 995_000


def test_min_out__zero_slippage__quote_itself():
    assert min_out(123, 0) == 123


def test_min_out__full_slippage__refused():
    with pytest.raises(ValueError, match="0..9999"):
        min_out(100, 10_000)


def test_out_raw_per_wei__usdc_at_3000__exact():
    assert out_raw_per_wei(Decimal(3000), Decimal(1), 6) == Decimal("3E-9")


def test_choose__better_price_but_heavy_gas__loses():
    quotes = [quote("heavy", 3000 * 10**6, 2_000_000), quote("light", 2990 * 10**6, 100_000)]
    best = choose_best(
        quotes,
        gas_price_wei=50 * 10**9,
        eth_usd=Decimal(3000),
        token_out_usd=Decimal(1),
        token_out_decimals=6,
        slippage_bps=50,
    )
    assert best.quote.source == "light"
    assert best.gas_cost_out_raw == 15 * 10**6  # 100k gas x 50 gwei = 0.005 ETH = $15
    assert best.net_out_raw == 2975 * 10**6


def test_choose__zero_gas_price__best_gross():
    quotes = [quote("a", 100, 10), quote("b", 101, 10**7)]
    assert (
        choose_best(
            quotes,
            gas_price_wei=0,
            eth_usd=Decimal(1),
            token_out_usd=Decimal(1),
            token_out_decimals=6,
            slippage_bps=0,
        ).quote.source
        == "b"
    )


def test_rank__tie__lower_gas_then_name():
    quotes = [quote("z", 100, 5), quote("a", 100, 5), quote("m", 100, 1)]
    order = [
        c.quote.source
        for c in rank(quotes, gas_price_wei=0, rate_out_raw_per_wei=Decimal(0), slippage_bps=0)
    ]
    assert order == ["m", "a", "z"]


def test_rank__l1_fee_per_source__counted():
    quotes = [quote("op-heavy-calldata", 1000, 0), quote("lean", 990, 0)]
    best = rank(
        quotes,
        gas_price_wei=0,
        rate_out_raw_per_wei=Decimal(1),
        slippage_bps=0,
        l1_fee_wei={"op-heavy-calldata": 50},
    )[0]
    assert best.quote.source == "lean"


def test_rank__only_indicative_prices__no_route():
    with pytest.raises(NoRoute):
        rank(
            [quote("p", 1, 1, calldata="")],
            gas_price_wei=1,
            rate_out_raw_per_wei=Decimal(1),
            slippage_bps=0,
        )


def test_rank__different_amounts__refused():
    with pytest.raises(BadQuote, match="different swap"):
        rank(
            [quote("a", 1, 1), quote("b", 1, 1, amount_in=5)],
            gas_price_wei=1,
            rate_out_raw_per_wei=Decimal(1),
            slippage_bps=0,
        )


def test_quote__float_amount__refused():
    with pytest.raises(BadQuote, match="amount_out_raw"):
        Quote("x", 1, WETH, USDC, 1, 1.5, ROUTER, ROUTER, "0x", 0, 1)
