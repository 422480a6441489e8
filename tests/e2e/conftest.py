"""Fixtures for end-to-end venue tests: local servers, fast execution settings, ledger checks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from keeper.devnet.exchanges import crypto_engine
from keeper.devnet.exchanges.binance import start_binance
from keeper.devnet.exchanges.engine import Engine
from keeper.venues.cex import CcxtVenue
from keeper.venues.executor import ExecutionConfig
from keeper.venues.legs import LegState
from keeper.venues.retry import RetryPolicy

API_KEY = "e2eKeyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvWxYz0123456789abcdefABCD"
SECRET = "e2eSecretZ9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFeDcBa9876543210zyxwvuTS"


@pytest.fixture(scope="module")
def binance_server():
    server = start_binance(crypto_engine(), {API_KEY: SECRET})
    yield server
    server.stop()


@pytest.fixture
def binance(binance_server):
    """Reset the server; return a factory of venues (build them inside the test's event loop)."""
    binance_server.reset()

    def make(**kwargs) -> CcxtVenue:
        options = {"api_key": API_KEY, "secret": SECRET, "timeout_ms": 3_000, **kwargs}
        return CcxtVenue("binance", base_url=binance_server.url, **options)

    return make


def fast_config(**overrides) -> ExecutionConfig:
    """Execution settings for tests: a fake clock drives polls and stale timers."""
    values = {
        "poll_interval_s": 1.0,
        "stale_after_s": 3.0,
        "max_replaces": 3,
        "reconcile_lookups": 2,
        "retry": RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=4.0),
        **overrides,
    }
    return ExecutionConfig(**values)


def _market(engine: Engine, symbol: str):
    """The engine market of a leg symbol ("BTC/USDT" on exchanges, "SPY" at brokers)."""
    return engine.markets.get(symbol) or engine.markets[f"{symbol}/USD"]


def journal_deltas(legs: list[LegState], engine: Engine) -> dict[str, Decimal]:
    """What the journal says each asset changed by: fills, costs and fees of every order."""
    out: dict[str, Decimal] = {}
    for leg in legs:
        market = _market(engine, leg.spec.symbol)
        sign = 1 if leg.spec.side == "buy" else -1
        for o in leg.orders:
            out[market.base] = out.get(market.base, Decimal(0)) + sign * o.filled
            out[market.quote] = out.get(market.quote, Decimal(0)) - sign * o.cost
            for fee in o.fees:
                out[fee.asset] = out.get(fee.asset, Decimal(0)) - fee.amount
    return out


def assert_journal_matches_venue(
    legs: list[LegState],
    engine: Engine,
    initial: dict[str, Decimal],
    venue_id: Callable[[int], str] = str,
) -> None:
    """Every venue order is journaled with the venue's numbers, and balances add up exactly.

    `venue_id` maps the engine's order number to the id the venue shows (Alpaca: a UUID)."""
    journaled = {o.client_id: o for leg in legs for o in leg.orders}
    for order in engine.orders.values():
        assert order.client_id in journaled, f"venue order {order.client_id} is not in the journal"
        rec = journaled[order.client_id]
        assert (rec.filled, rec.cost) == (order.executed, order.cum_quote), order.client_id
        assert rec.venue_order_id == venue_id(order.order_id)
    deltas = journal_deltas(legs, engine)
    totals = engine.totals()
    for asset in set(initial) | set(deltas) | set(totals):
        expected = initial.get(asset, Decimal(0)) + deltas.get(asset, Decimal(0))
        assert totals.get(asset, Decimal(0)) == expected, (
            f"{asset}: venue {totals.get(asset)} != journal {expected}"
        )


ALPACA_KEY = "PKE2EKEYID9876543210"
ALPACA_SECRET = "e2eAlpacaSecretKey9876543210zyxwvutsrqponm"


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


class Hours:
    """Market hours with a movable clock: tests open and close the session."""

    def __init__(self, moment):
        from keeper.venues.hours import MarketHours

        self.moment = moment
        self.calendar = MarketHours("XNYS", now=lambda: self.moment)

    def is_open(self, at=None):
        return self.calendar.is_open(at)

    def next_open(self, at=None):
        return self.calendar.next_open(at)


OKX_KEY = "okx-e2e-key-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
OKX_SECRET = "OKXE2ESECRET9876543210FEDCBA9876543210"
OKX_PASSPHRASE = "e2e-passphrase-okx"


@pytest.fixture(scope="module")
def okx_server():
    from keeper.devnet.exchanges.okx import start_okx

    server = start_okx(crypto_engine(), {OKX_KEY: (OKX_SECRET, OKX_PASSPHRASE)})
    yield server
    server.stop()


@pytest.fixture(params=["binance", "okx"])
def exchange(request):
    """(kind, server, venue factory) for each ccxt exchange we serve locally."""
    kind = request.param
    server = request.getfixturevalue(f"{kind}_server")
    server.reset()
    credentials = (
        {"api_key": API_KEY, "secret": SECRET}
        if kind == "binance"
        else {"api_key": OKX_KEY, "secret": OKX_SECRET, "password": OKX_PASSPHRASE}
    )

    def make(**kwargs) -> CcxtVenue:
        options = {**credentials, "timeout_ms": 3_000, **kwargs}
        return CcxtVenue(kind, base_url=server.url, **options)

    return kind, server, make
