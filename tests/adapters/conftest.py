"""Fixtures for adapter tests: local venue servers on free loopback ports, reset per test."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from keeper.devnet.exchanges import crypto_engine
from keeper.devnet.exchanges.binance import start_binance
from keeper.venues.cex import CcxtVenue

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def api_sample(name: str) -> dict:
    """A real payload from ../shared/data/api-samples, or skip with the reason."""
    import json

    path = SHARED_DATA / "api-samples" / name
    if not path.exists():
        pytest.skip(f"reference payload {path} is absent (the shared data folder is not mounted)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def binance_server():
    server = start_binance(crypto_engine(), {API_KEY: SECRET})
    yield server
    server.stop()


@pytest.fixture
def binance(binance_server):
    """The server reset to its initial state; returns a factory of keeper venues pointed at it.

    Build venues inside the test's event loop (`async with binance() as venue:`): a ccxt
    exchange binds its HTTP session to the loop that first uses it.
    """
    binance_server.reset()

    def make(**kwargs) -> CcxtVenue:
        options = {"api_key": API_KEY, "secret": SECRET, "timeout_ms": 2_000, **kwargs}
        return CcxtVenue("binance", base_url=binance_server.url, **options)

    return make


ALPACA_KEY = "PKTESTKEYID0123456789"
ALPACA_SECRET = "alpacaSecretKey0123456789abcdefghijklmnopq"


@pytest.fixture(scope="module")
def alpaca_server():
    from keeper.devnet.exchanges import equity_engine
    from keeper.devnet.exchanges.alpaca import start_alpaca

    server = start_alpaca(equity_engine(), ALPACA_KEY, ALPACA_SECRET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ibkr_server():
    from keeper.devnet.exchanges import equity_engine
    from keeper.devnet.exchanges.ibkr import start_ibkr

    server = start_ibkr(equity_engine(commission_rate="0.0005"))
    yield server
    server.stop()


def open_hours():
    """XNYS hours pinned to a Monday 10:00 New York time."""
    from datetime import datetime

    from keeper.venues.hours import MarketHours

    return MarketHours("XNYS", now=lambda: datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


OKX_KEY = "okx-key-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
OKX_SECRET = "OKXSECRET0123456789ABCDEF0123456789"
OKX_PASSPHRASE = "keeper-passphrase-01"


@pytest.fixture(scope="module")
def okx_server():
    from keeper.devnet.exchanges.okx import start_okx

    server = start_okx(crypto_engine(), {OKX_KEY: (OKX_SECRET, OKX_PASSPHRASE)})
    yield server
    server.stop()
