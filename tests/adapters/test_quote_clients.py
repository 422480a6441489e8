"""The 1inch, 0x and Odos clients over real HTTP against the local aggregator server."""

import logging
from decimal import Decimal
from fractions import Fraction

import pytest
from eth_abi import decode

from keeper.devnet.aggregators import SWAP_SELECTOR, LocalAggregators, fixed_rate_price_fn
from keeper.errors import ConfigError, TemporaryError
from keeper.http import RetryPolicy
from keeper.quotes.base import NoRoute, QuoteSource, collect_quotes
from keeper.quotes.choose import choose_best
from keeper.quotes.odos import OdosSource
from keeper.quotes.oneinch import OneInchSource
from keeper.quotes.zerox import ZeroExSource

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
TAKER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ROUTER = "0x000000000000000000000000000000000000ABcD"
KEYS = {
    "ONEINCH_API_KEY": "1inch-test-key-0123",
    "ZEROX_API_KEY": "zerox-test-key-4567",
    "ODOS_API_KEY": "odos-test-key-89ab",
}
FAST = RetryPolicy(attempts=3, base_delay_s=0.0, max_delay_s=0.0)


@pytest.fixture
def env_keys(monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aggregators():
    price = fixed_rate_price_fn({(WETH, USDC): Fraction(3000 * 10**6, 10**18)}, router=ROUTER)
    with LocalAggregators(
        price,
        oneinch_key=KEYS["ONEINCH_API_KEY"],
        zerox_key=KEYS["ZEROX_API_KEY"],
        odos_key=KEYS["ODOS_API_KEY"],
    ) as server:
        yield server


def sources(server, **kwargs):
    return [
        OneInchSource(base_url=server.base_url("1inch"), retry=FAST, **kwargs),
        ZeroExSource(base_url=server.base_url("0x"), retry=FAST, **kwargs),
        OdosSource(base_url=server.base_url("odos"), retry=FAST, **kwargs),
    ]


def test_each_source__local_server__executable_quote_with_slippage_in_calldata(
    env_keys, aggregators
):
    for source in sources(aggregators, slippage_bps=30):
        assert isinstance(source, QuoteSource)
        q = source.quote(1, WETH, USDC, 2 * 10**18, TAKER)
        assert q.amount_out_raw == 6000 * 10**6, source.name
        assert q.router == ROUTER and q.spender == ROUTER and q.executable
        data = bytes.fromhex(q.calldata[2:])
        assert data[:4] == SWAP_SELECTOR
        _tin, _tout, amount_in, baked_min, taker = decode(
            ["address", "address", "uint256", "uint256", "address"], data[4:]
        )
        assert (amount_in, taker) == (2 * 10**18, TAKER.lower())
        assert baked_min == 6000 * 10**6 * (10_000 - 30) // 10_000, source.name


def test_sources__auth_headers__sent_as_each_api_wants(env_keys, aggregators):
    for source in sources(aggregators):
        source.quote(1, WETH, USDC, 10**18, TAKER)
    by_api = {r.path.split("/")[1]: r.headers for r in aggregators.requests}
    assert by_api["1inch"]["authorization"] == "Bearer " + KEYS["ONEINCH_API_KEY"]
    assert (
        by_api["0x"]["0x-api-key"] == KEYS["ZEROX_API_KEY"] and by_api["0x"]["0x-version"] == "v2"
    )
    assert by_api["odos"]["x-api-key"] == KEYS["ODOS_API_KEY"]


def test_oneinch__no_key_in_env__config_error_names_variable(monkeypatch):
    monkeypatch.delenv("ONEINCH_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ONEINCH_API_KEY"):
        OneInchSource()


def test_zerox__wrong_key__config_error_without_the_key(monkeypatch, aggregators):
    monkeypatch.setenv("ZEROX_API_KEY", "a-wrong-key-value")
    with pytest.raises(ConfigError) as info:
        ZeroExSource(base_url=aggregators.base_url("0x"), retry=FAST).quote(
            1, WETH, USDC, 10**18, TAKER
        )
    assert "ZEROX_API_KEY" in info.value.one_line()
    assert "a-wrong-key-value" not in str(info.value)


def test_sources__unknown_pair__no_route(env_keys, aggregators):
    for source in sources(aggregators):
        with pytest.raises(NoRoute):
            source.quote(1, USDC, "0x" + "77" * 20, 10**6, TAKER)


def test_oneinch__two_503s_then_ok__retried_with_warnings(env_keys, aggregators, caplog):
    aggregators.fail_next("1inch", status=503, times=2)
    with caplog.at_level(logging.WARNING):
        q = OneInchSource(base_url=aggregators.base_url("1inch"), retry=FAST).quote(
            1, WETH, USDC, 10**18, TAKER
        )
    assert q.amount_out_raw == 3000 * 10**6
    assert len([r for r in aggregators.requests if r.path.startswith("/1inch")]) == 3
    assert "retry 2/2" in caplog.text


def test_odos__hang_then_ok__timeout_retried(env_keys, aggregators):
    aggregators.fail_next("odos", status=None, hang_s=0.5)
    q = OdosSource(base_url=aggregators.base_url("odos"), retry=FAST, timeout_s=0.2).quote(
        1, WETH, USDC, 10**18, TAKER
    )
    assert q.amount_out_raw == 3000 * 10**6


def test_zerox__always_429__temporary_error_after_attempts(env_keys, aggregators):
    aggregators.fail_next("0x", status=429, times=5)
    with pytest.raises(TemporaryError, match="HTTP 429 after 3 attempts"):
        ZeroExSource(base_url=aggregators.base_url("0x"), retry=FAST).quote(
            1, WETH, USDC, 10**18, TAKER
        )


def test_odos__no_key__public_host_without_header(monkeypatch, aggregators):
    monkeypatch.delenv("ODOS_API_KEY", raising=False)
    public = LocalAggregators(fixed_rate_price_fn({(WETH, USDC): Fraction(1)}, router=ROUTER))
    with public:
        OdosSource(base_url=public.base_url("odos"), retry=FAST).quote(1, WETH, USDC, 10, TAKER)
    assert all("x-api-key" not in r.headers for r in public.requests)


def test_collect_and_choose__one_source_down__best_of_the_rest_net_of_gas(env_keys):
    cheap_gas = fixed_rate_price_fn(
        {(WETH, USDC): Fraction(2990 * 10**6, 10**18)}, router=ROUTER, gas=100_000
    )
    with (
        LocalAggregators(cheap_gas) as a,
        LocalAggregators(
            fixed_rate_price_fn(
                {(WETH, USDC): Fraction(3000 * 10**6, 10**18)}, router=ROUTER, gas=2_000_000
            )
        ) as b,
    ):
        a.fail_next("0x", status=500, times=5)
        srcs = [
            OneInchSource(base_url=a.base_url("1inch"), retry=FAST),  # 2990 USDC, 100k gas
            ZeroExSource(base_url=a.base_url("0x"), retry=FAST),  # down
            OdosSource(base_url=b.base_url("odos"), retry=FAST),
        ]  # 3000 USDC, 2M gas
        quotes, failures = collect_quotes(srcs, 1, WETH, USDC, 10**18, TAKER)
    assert [f.source for f in failures] == ["0x"]
    # at 50 gwei and $3000/ETH, 2M gas costs $300: the 1inch route nets more despite a worse price
    best = choose_best(
        quotes,
        gas_price_wei=50 * 10**9,
        eth_usd=Decimal(3000),
        token_out_usd=Decimal(1),
        token_out_decimals=6,
        slippage_bps=50,
    )
    assert best.quote.source == "1inch"
    assert best.min_out_raw == 2990 * 10**6 * 9950 // 10_000
