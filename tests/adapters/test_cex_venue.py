"""The ccxt venue against the local Binance server: real signing, parsing and error mapping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.devnet.exchanges.engine import Fault
from keeper.errors import (
    ConfigError,
    ExecutionReverted,
    NotAvailable,
    ReconcileError,
    TemporaryError,
)
from keeper.venues.cex import CcxtVenue, dec, point_urls_at
from keeper.venues.retry import RateLimited
from keeper.venues.types import OrderRequest, OrderState
from tests.aio import aio


def _req(cid: str, amount: str = "0.1", price: str = "60100", side: str = "buy") -> OrderRequest:
    return OrderRequest("binance", "BTC/USDT", side, Decimal(amount), Decimal(price), cid)  # type: ignore[arg-type]


def test_dec__float_from_ccxt__exact_printed_decimal():
    assert dec(0.1) == Decimal("0.1") and dec(60005.0) == Decimal("60005.0") and dec(None) is None


def test_point_urls_at__nested_urls__host_replaced_paths_kept():
    urls = {
        "public": "https://api.binance.com/api/v3",
        "sapi": "https://api.binance.com/sapi/v1",
        "rest": "https://{hostname}",
    }
    assert point_urls_at(urls, "http://127.0.0.1:9") == {
        "public": "http://127.0.0.1:9/api/v3",
        "sapi": "http://127.0.0.1:9/sapi/v1",
        "rest": "http://127.0.0.1:9",
    }


@aio
async def test_rules__binance_filters__tick_step_minimums(binance):
    async with binance() as venue:
        rules = await venue.rules("BTC/USDT")
    assert (rules.tick, rules.step, rules.min_amount, rules.min_notional) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        Decimal("5.0"),
    )


@aio
async def test_rules__unknown_symbol__config_error_names_known_markets(binance):
    async with binance() as venue:
        with pytest.raises(ConfigError, match="BTC/USDT"):
            await venue.rules("DOGE/USDT")


@aio
async def test_balances__funded_account__decimals_not_floats(binance):
    async with binance() as venue:
        balances = {b.asset: b for b in await venue.balances()}
    assert balances["USDT"].free == Decimal("100000.0")
    assert all(
        isinstance(b.free, Decimal) and isinstance(b.used, Decimal) for b in balances.values()
    )


@aio
async def test_positions__balances_valued_at_mid(binance):
    async with binance() as venue:
        positions = {p.asset: p for p in await venue.positions("USDT")}
    assert positions["BTC"].price == Decimal("60000") and positions["USDT"].price == 1


@aio
async def test_place__crossing_limit__filled_with_fee_from_fills(binance):
    async with binance() as venue:
        status = await venue.place(_req("kplace1"))
        fills = await venue.fills("BTC/USDT", status.venue_order_id)
    assert status.state is OrderState.FILLED and status.filled == Decimal("0.1")
    assert sum(f.amount for f in fills) == Decimal("0.1")
    assert [f.fee.asset for f in fills] == ["BTC"] and fills[0].fee.amount == Decimal("0.0001")


@aio
async def test_lookup__unknown_client_id__none(binance):
    async with binance() as venue:
        assert await venue.lookup("BTC/USDT", "knothere") is None


@aio
async def test_place_then_lookup__resting_order__acknowledged_and_cancel_closes_it(binance):
    async with binance() as venue:
        placed = await venue.place(_req("krest1", price="59000"))
        found = await venue.lookup("BTC/USDT", "krest1")
        cancelled = await venue.cancel("BTC/USDT", "krest1", placed.venue_order_id)
    assert placed.state is OrderState.ACKNOWLEDGED
    assert found.venue_order_id == placed.venue_order_id
    assert cancelled.state is OrderState.CANCELLED


@aio
async def test_cancel__already_closed__reconcile_error(binance):
    async with binance() as venue:
        placed = await venue.place(_req("kdone1"))
        with pytest.raises(ReconcileError):
            await venue.cancel("BTC/USDT", "kdone1", placed.venue_order_id)


@aio
async def test_place__insufficient_balance__execution_reverted(binance):
    async with binance() as venue:
        with pytest.raises(ExecutionReverted, match="InsufficientFunds"):
            await venue.place(_req("kbig1", amount="50"))


@aio
async def test_place__below_min_notional__execution_reverted(binance):
    async with binance() as venue:
        with pytest.raises(ExecutionReverted):
            await venue.place(_req("ksmall1", amount="0.00001", price="100"))


@pytest.mark.parametrize(("reason", "status"), [("rate_limit", 429), ("ip_banned", 418)])
@aio
async def test_place__rate_limited__retry_after_and_nothing_placed(
    binance, binance_server, reason, status
):
    binance_server.engine.faults.add(
        "place", Fault("status", status=status, reason=reason, retry_after_s=3)
    )
    async with binance() as venue:
        with pytest.raises(RateLimited) as info:
            await venue.place(_req("krl1"))
    assert info.value.retry_after_s == 3
    assert binance_server.engine.get(client_id="krl1") is None


@aio
async def test_place__answer_lost_after_execution__reconcile_error_and_lookup_finds_it(
    binance, binance_server
):
    binance_server.engine.faults.add("place", Fault("drop_after"))
    async with binance() as venue:
        with pytest.raises(ReconcileError):
            await venue.place(_req("klost1"))
        found = await venue.lookup("BTC/USDT", "klost1")
    assert found.state is OrderState.FILLED


@aio
async def test_place__timeout_after_execution__reconcile_error_and_lookup_finds_it(
    binance, binance_server
):
    async with binance(timeout_ms=1_500) as venue:
        await venue.load()  # markets first, so only the order request meets the slow answer
        binance_server.engine.faults.add("place", Fault("delay_after", delay_s=5.0))
        with pytest.raises(ReconcileError, match="RequestTimeout"):
            await venue.place(_req("kslow1"))
        found = await venue.lookup("BTC/USDT", "kslow1")
    assert found.filled == Decimal("0.1")


@aio
async def test_place__server_error__reconcile_not_retry(binance, binance_server):
    binance_server.engine.faults.add("place", Fault("status", status=500, reason="server_error"))
    async with binance() as venue:
        with pytest.raises(ReconcileError):
            await venue.place(_req("k500"))


@aio
async def test_balances__server_error__temporary(binance, binance_server):
    binance_server.engine.faults.add(
        "account", Fault("status", status=503, reason="internal_error")
    )
    async with binance() as venue:
        with pytest.raises(TemporaryError):
            await venue.balances()


@aio
async def test_read_only_venue__authenticated_calls__refused_before_any_request(
    binance, binance_server
):
    async with binance(api_key=None, secret=None) as venue:
        await venue.book("BTC/USDT")
        for call in (
            venue.balances,
            lambda: venue.place(_req("kro")),
            lambda: venue.lookup("BTC/USDT", "kro"),
        ):
            with pytest.raises(NotAvailable):
                await call()
    assert binance_server.requests and not any(r.authenticated for r in binance_server.requests)


@aio
async def test_wrong_secret__config_error(binance):
    async with binance(secret="wrong") as venue:
        with pytest.raises(ConfigError, match="API key"):
            await venue.balances()


def test_unsupported_exchange__config_error():
    with pytest.raises(ConfigError, match="supported"):
        CcxtVenue("mtgox")


@aio
async def test_lookup_by_scan__open_and_closed_orders__found_or_none(binance):
    """The path for exchanges that cannot fetch by client id, run against Binance's real endpoints."""
    async with binance() as venue:
        venue.lookup_by_scan = True
        await venue.place(_req("kscan1"))  # fills at once: a closed order
        await venue.place(_req("kscan2", price="59000"))  # rests: an open order
        closed = await venue.lookup("BTC/USDT", "kscan1")
        resting = await venue.lookup("BTC/USDT", "kscan2")
        missing = await venue.lookup("BTC/USDT", "kscan3")
    assert (
        closed.state is OrderState.FILLED
        and resting.state is OrderState.ACKNOWLEDGED
        and missing is None
    )
