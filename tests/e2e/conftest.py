"""Fixtures for end-to-end venue tests: local servers, fast execution settings, ledger checks."""

from __future__ import annotations

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


def journal_deltas(legs: list[LegState], engine: Engine) -> dict[str, Decimal]:
    """What the journal says each asset changed by: fills, costs and fees of every order."""
    out: dict[str, Decimal] = {}
    for leg in legs:
        market = engine.markets[leg.spec.symbol]
        sign = 1 if leg.spec.side == "buy" else -1
        for o in leg.orders:
            out[market.base] = out.get(market.base, Decimal(0)) + sign * o.filled
            out[market.quote] = out.get(market.quote, Decimal(0)) - sign * o.cost
            for fee in o.fees:
                out[fee.asset] = out.get(fee.asset, Decimal(0)) - fee.amount
    return out


def assert_journal_matches_venue(legs: list[LegState], engine: Engine, initial: dict[str, Decimal]) -> None:
    """Every venue order is journaled with the venue's numbers, and balances add up exactly."""
    journaled = {o.client_id: o for leg in legs for o in leg.orders}
    for order in engine.orders.values():
        assert order.client_id in journaled, f"venue order {order.client_id} is not in the journal"
        rec = journaled[order.client_id]
        assert (rec.filled, rec.cost) == (order.executed, order.cum_quote), order.client_id
        assert rec.venue_order_id == str(order.order_id)
    deltas = journal_deltas(legs, engine)
    totals = engine.totals()
    for asset in set(initial) | set(deltas) | set(totals):
        expected = initial.get(asset, Decimal(0)) + deltas.get(asset, Decimal(0))
        assert totals.get(asset, Decimal(0)) == expected, f"{asset}: venue {totals.get(asset)} != journal {expected}"
