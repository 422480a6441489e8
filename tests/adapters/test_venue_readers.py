"""The exchange and broker readers the factory builds, against the local servers: one position
per declared holding, priced and timed, round trips counted; credentials and base URLs from the
environment, refused in one line when missing or unsafe; a venue that cannot be read is failed,
never zero."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from keeper import secrets
from keeper.config.loader import load_config_text
from keeper.core.drift import compute_drift
from keeper.core.spec import HoldingKind
from keeper.devnet.anvil import free_port
from keeper.errors import ConfigError, NotAvailable
from keeper.venues.base import read_snapshot
from keeper.venues.brokers import BrokerReader
from keeper.venues.cex import CcxtReader
from keeper.venues.connect import endpoint, venue_settings
from keeper.venues.factory import make_readers
from keeper.venues.retry import RetryPolicy
from tests.adapters.conftest import (
    ALPACA_KEY,
    ALPACA_SECRET,
    API_KEY,
    OKX_KEY,
    OKX_PASSPHRASE,
    OKX_SECRET,
    SECRET,
)
from tests.aio import nosleep

D = Decimal

CONFIG = """
version: 1
treasury: {name: Reader test}
venues:
  binance: {kind: cex, exchange: binance, credentials_env: BN_, quote: USDT}
  okx: {kind: cex, exchange: okx, quote: USDT}
  alpaca: {kind: broker, broker: alpaca, credentials_env: AP_, quote: USD}
  ibkr: {kind: broker, broker: ibkr, quote: USD}
classes:
  crypto:
    assets:
      BTC: {target: 20%, holdings: [{venue: binance, symbol: BTC}, {venue: okx, symbol: BTC, id: okx-btc}]}
      ETH: {target: 10%, holdings: [{venue: binance, symbol: ETH}]}
      DOGE: {target: 0%, holdings: [{venue: binance, symbol: DOGE}]}
  etfs:
    assets:
      SPY: {target: 30%, holdings: [{venue: alpaca, symbol: SPY, decimals: 9}, {venue: ibkr, symbol: SPY, id: ibkr-spy}]}
      QQQ: {target: 10%, holdings: [{venue: alpaca, symbol: QQQ, decimals: 9}]}
  cash:
    cash: true
    assets:
      USDT: {target: 10%, holdings: [{venue: binance, symbol: USDT}, {venue: okx, symbol: USDT, id: okx-usdt}]}
      USD: {target: 20%, price: {fixed: 1}, holdings: [{venue: alpaca, symbol: USD, decimals: 2}, {venue: ibkr, symbol: USD, decimals: 2, id: ibkr-usd}]}
"""


@pytest.fixture
def loaded(tmp_path):
    return load_config_text(CONFIG, tmp_path / "keeper.yaml")


@pytest.fixture
def servers(binance_server, okx_server, alpaca_server, ibkr_server):
    for s in (binance_server, okx_server, alpaca_server, ibkr_server):
        s.reset()
    front = ibkr_server.front
    front.session, front.accounts_queried, front.ask_to_confirm = "authenticated", False, []
    front._warm.clear()
    return {
        "binance": binance_server,
        "okx": okx_server,
        "alpaca": alpaca_server,
        "ibkr": ibkr_server,
    }


@pytest.fixture
def environ(servers):
    return {
        "BN_API_KEY": API_KEY,
        "BN_API_SECRET": SECRET,
        "BN_BASE_URL": servers["binance"].url,
        "OKX_API_KEY": OKX_KEY,
        "OKX_API_SECRET": OKX_SECRET,
        "OKX_API_PASSPHRASE": OKX_PASSPHRASE,
        "OKX_BASE_URL": servers["okx"].url,
        "AP_API_KEY": ALPACA_KEY,
        "AP_API_SECRET": ALPACA_SECRET,
        "AP_BASE_URL": servers["alpaca"].url,
        "IBKR_BASE_URL": f"{servers['ibkr'].url}/v1/api",
    }


def by_holding(reading):
    return {p.holding: p for p in reading.positions}


FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01)


def test_ccxt_reader__local_binance__every_holding_priced_by_its_ticker(loaded, environ, servers):
    reader = CcxtReader("binance", loaded, environ=environ, sleep=nosleep)
    now = int(time.time())
    first = reader.read(loaded.spec, now)
    again = reader.read(loaded.spec, now)
    got = by_holding(first)
    assert set(got) == {"binance:BTC", "binance:ETH", "binance:DOGE", "binance:USDT"}
    btc = got["binance:BTC"]
    assert (btc.raw, btc.decimals, btc.kind) == (2 * 10**8, 8, HoldingKind.CEX_BALANCE)
    assert btc.price_usd == D("60000") and "BTC/USDT mid" in btc.price_source
    assert (
        got["binance:USDT"].price_usd == D(1) and "taken at $1" in got["binance:USDT"].price_source
    )
    # DOGE: none held and no market: an empty holding, unpriced, which blocks nothing
    doge = got["binance:DOGE"]
    assert doge.raw == 0 and not doge.priced and "no DOGE/USDT market" in doge.unpriced_reason
    # markets load once: the second read is one balance and one ticker per market, no more
    assert first.round_trips == again.round_trips + 1 == 4
    assert first.block is None
    paths = [r.path for r in servers["binance"].requests]
    assert paths.count("/api/v3/exchangeInfo") == 1 and paths.count("/api/v3/account") == 2


def test_ccxt_reader__okx_with_passphrase__balances_and_tickers(loaded, environ):
    got = by_holding(
        CcxtReader("okx", loaded, environ=environ, sleep=nosleep).read(
            loaded.spec, int(time.time())
        )
    )
    assert got["okx-btc"].raw == 2 * 10**8 and got["okx-btc"].price_usd == D("60000")
    assert got["okx-usdt"].raw == 100_000 * 10**8


@pytest.mark.parametrize(
    ("venue", "drop", "named"),
    [
        ("binance", "BN_API_SECRET", "BN_API_SECRET"),
        ("okx", "OKX_API_PASSPHRASE", "OKX_API_PASSPHRASE"),
        ("alpaca", "AP_API_KEY", "AP_API_KEY"),
    ],
)
def test_reader__credential_missing__one_line_naming_the_variable(
    loaded, environ, servers, venue, drop, named
):
    env = {k: v for k, v in environ.items() if k != drop}
    reader_cls = CcxtReader if venue in ("binance", "okx") else BrokerReader
    with pytest.raises(ConfigError) as e:
        reader_cls(venue, loaded, environ=env)
    message = e.value.one_line()
    assert str(e.value) == message and named in message and "static" in message
    assert all(not s.requests for s in servers.values())  # refused before any request


def test_factory__no_credentials_in_environment__config_error_before_any_read(
    loaded, monkeypatch, servers
):
    for var in ("AP_API_KEY", "AP_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="venue alpaca: set AP_API_KEY and AP_API_SECRET"):
        make_readers(loaded)
    assert all(not s.requests for s in servers.values())


def test_ccxt_reader__exchange_unreachable__every_holding_failed_not_zero(loaded, environ):
    env = {**environ, "BN_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    reading = CcxtReader("binance", loaded, environ=env, retry=FAST, sleep=nosleep).read(
        loaded.spec, int(time.time())
    )
    assert len(reading.positions) == 4
    assert all(
        not p.read_ok and "balance read failed" in p.unpriced_reason for p in reading.positions
    )
    # drift refuses to count them: BTC is blocked, never worth $0
    snapshot, _ = read_snapshot([_Fixed(reading)], loaded.spec, int(time.time()))
    report = compute_drift(loaded.spec, snapshot)
    assert "BTC" in {row.name for row in report.blocked()}


class _Fixed:
    """A reader that returns a reading already taken (to feed read_snapshot in one test)."""

    def __init__(self, reading):
        self.venue, self.reading = reading.venue, reading

    def read(self, spec, now):
        return self.reading


def test_broker_reader__alpaca__cash_held_marks_and_an_unheld_symbol_quoted(
    loaded, environ, servers
):
    reading = BrokerReader("alpaca", loaded, environ=environ, sleep=nosleep).read(
        loaded.spec, int(time.time())
    )
    got = by_holding(reading)
    assert set(got) == {"alpaca:SPY", "alpaca:QQQ", "alpaca:USD"}
    assert got["alpaca:SPY"].raw == 200 * 10**9 and got["alpaca:SPY"].price_usd == D("450.00")
    assert got["alpaca:USD"].raw == 250_000 * 100 and got["alpaca:USD"].price_usd == D(1)
    qqq = got["alpaca:QQQ"]  # not held: priced from the latest quote so the planner can buy it
    assert qqq.raw == 0 and qqq.price_usd == D("380.00") and "quote mid" in qqq.price_source
    assert reading.round_trips == 3
    assert all(r.authenticated and r.method == "GET" for r in servers["alpaca"].requests)


def test_broker_reader__ibkr_gateway_session__positions_and_cash(loaded, environ):
    got = by_holding(
        BrokerReader("ibkr", loaded, environ=environ, sleep=nosleep).read(
            loaded.spec, int(time.time())
        )
    )
    assert got["ibkr-spy"].raw == 200 * 10**8 and got["ibkr-spy"].price_usd == D("450.00")
    assert got["ibkr-usd"].raw == 250_000 * 100


def test_broker_reader__ibkr_logged_out__failed_positions_say_where_to_log_in(
    loaded, environ, servers
):
    servers["ibkr"].front.session = "logged_out"
    reading = BrokerReader("ibkr", loaded, environ=environ, sleep=nosleep).read(
        loaded.spec, int(time.time())
    )
    assert all(not p.read_ok and "log in" in p.unpriced_reason for p in reading.positions)


def test_broker_reader__mt5_on_linux__not_available_in_one_line(tmp_path):
    text = CONFIG.replace("broker: ibkr", "broker: mt5")
    cfg = load_config_text(text, tmp_path / "keeper.yaml")
    with pytest.raises(NotAvailable) as e:
        BrokerReader("ibkr", cfg)
    assert "not available on this platform" in e.value.one_line()


def test_reader__credentials_read__registered_as_secrets(loaded, environ):
    CcxtReader("okx", loaded, environ=environ)
    BrokerReader("alpaca", loaded, environ=environ)
    text = f"key={OKX_KEY} pass={OKX_PASSPHRASE} alpaca={ALPACA_SECRET}"
    assert OKX_KEY not in secrets.redact(text) and ALPACA_SECRET not in secrets.redact(text)
    settings = venue_settings(loaded, "okx", need_credentials=True, environ=environ)
    assert OKX_SECRET not in repr(settings)


def test_venue_settings__dry_run__reads_no_credential(loaded):
    settings = venue_settings(loaded, "binance", need_credentials=False, environ={})
    assert settings.api_key is None and not settings.has_credentials


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ftp://127.0.0.1:21", "http(s) URL"),
        ("127.0.0.1:8301", "http(s) URL"),
        ("http://exchange.example.com", "plain http"),
        ("https://user:pw@api.example.com", "user, password"),
        ("https://api.example.com/?apiKey=x", "query"),
    ],
)
def test_endpoint__unsafe_or_malformed__refused_naming_the_variable(value, why):
    with pytest.raises(ConfigError) as e:
        endpoint(value, venue="binance", variable="BINANCE_BASE_URL")
    assert "BINANCE_BASE_URL" in str(e.value) and why in str(e.value)
    assert "pw" not in str(e.value) and "apiKey=x" not in str(e.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8301/", "http://127.0.0.1:8301"),
        ("http://localhost:5000/v1/api", "http://localhost:5000/v1/api"),
        ("https://testnet.binance.vision", "https://testnet.binance.vision"),
        ("", None),
        (None, None),
    ],
)
def test_endpoint__loopback_http_or_https__accepted(value, expected):
    assert endpoint(value, venue="binance", variable="BINANCE_BASE_URL") == expected


def test_alpaca_settings__local_base_url__quotes_from_the_same_server(loaded, environ):
    local = venue_settings(loaded, "alpaca", need_credentials=False, environ=environ)
    assert local.data_url == environ["AP_BASE_URL"]
    live = venue_settings(
        loaded,
        "alpaca",
        need_credentials=False,
        environ={"AP_BASE_URL": "https://api.alpaca.markets"},
    )
    assert live.data_url is None  # the adapter's default: https://data.alpaca.markets
