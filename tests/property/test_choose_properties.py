"""Properties of the route choice, each shown failing once against a deliberately broken variant."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from keeper.quotes.base import Quote
from keeper.quotes.choose import min_out, rank

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ROUTER = "0x" + "ab" * 20

amounts = st.integers(min_value=0, max_value=10**40)
bps = st.integers(min_value=0, max_value=9_999)
quote_lists = st.lists(
    st.tuples(amounts, st.integers(min_value=0, max_value=10**7)), min_size=1, max_size=8
).map(
    lambda items: [
        Quote(f"s{i}", 1, WETH, USDC, 10**18, out, ROUTER, ROUTER, "0x01", 0, gas)
        for i, (out, gas) in enumerate(items)
    ]
)


def best_is_max_net(choices) -> bool:
    return all(choices[0].net_out_raw >= c.net_out_raw for c in choices)


@given(amounts, bps)
def test_min_out__any__never_above_quote_nor_below_tolerance(out, slippage):
    m = min_out(out, slippage)
    assert m <= out
    assert m * 10_000 > out * (10_000 - slippage) - 10_000  # off by less than one raw unit


@given(amounts, bps, bps)
def test_min_out__more_slippage__never_higher(out, a, b):
    lo, hi = sorted((a, b))
    assert min_out(out, hi) <= min_out(out, lo)


@given(quote_lists, st.integers(0, 10**12), st.decimals(min_value=0, max_value=10**6, places=6))
def test_rank__any_quotes__first_has_max_net_and_costs_never_understated(quotes, gas_price, rate):
    choices = rank(quotes, gas_price_wei=gas_price, rate_out_raw_per_wei=rate, slippage_bps=30)
    assert best_is_max_net(choices)
    for c in choices:
        assert c.gas_cost_out_raw >= Decimal(c.quote.gas_estimate * gas_price) * rate
        assert c.net_out_raw == c.quote.amount_out_raw - c.gas_cost_out_raw


def test_choice_rule__broken_gross_ranking__caught():
    """The invariant bites: ranking by gross output picks a route that nets less."""
    quotes = [
        Quote("heavy", 1, WETH, USDC, 10**18, 1000, ROUTER, ROUTER, "0x01", 0, 100),
        Quote("lean", 1, WETH, USDC, 10**18, 990, ROUTER, ROUTER, "0x01", 0, 1),
    ]
    choices = rank(quotes, gas_price_wei=1, rate_out_raw_per_wei=Decimal(1), slippage_bps=0)
    broken = sorted(choices, key=lambda c: -c.quote.amount_out_raw)
    assert not best_is_max_net(broken)
    assert best_is_max_net(choices)
