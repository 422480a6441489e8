"""The IBKR adapter against the local Client Portal gateway: session, replies, cOID, shapes."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest

from keeper.errors import ConfigError, ExecutionReverted, ReconcileError
from keeper.venues.brokers.ibkr import IbkrVenue
from keeper.venues.types import OrderRequest, OrderState
from tests.adapters.conftest import api_sample, open_hours
from tests.aio import aio, nosleep


@pytest.fixture
def ibkr(ibkr_server):
    ibkr_server.reset()
    front = ibkr_server.front
    front.session, front.accounts_queried, front.ask_to_confirm = "authenticated", False, []
    front._warm.clear()

    def make(**kwargs) -> IbkrVenue:
        options = {"hours": open_hours(), "sleep": nosleep, **kwargs}
        return IbkrVenue(base_url=f"{ibkr_server.url}/v1/api", **options)

    return make


def _req(
    cid: str, qty: str = "20", price: str = "98.05", side: str = "buy", symbol: str = "AGG"
) -> OrderRequest:
    return OrderRequest("ibkr", symbol, side, Decimal(qty), Decimal(price), cid, "day")  # type: ignore[arg-type]


@aio
async def test_session__gateway_logged_out__config_error_says_where_to_log_in(ibkr, ibkr_server):
    ibkr_server.front.session = "logged_out"
    async with ibkr() as venue:
        with pytest.raises(ConfigError, match="log in"):
            await venue.balances()


@aio
async def test_session__connected_not_brokerage__opened_with_ssodh_init(ibkr, ibkr_server):
    ibkr_server.front.session = "connected"
    async with ibkr() as venue:
        await venue.session()
    assert ibkr_server.front.session == "authenticated"
    assert any(r.path.endswith("/iserver/auth/ssodh/init") for r in ibkr_server.requests)


@aio
async def test_session__unknown_account__config_error_lists_known(ibkr):
    async with ibkr(account_id="U0000000") as venue:
        with pytest.raises(ConfigError, match="DU1234567"):
            await venue.session()


@aio
async def test_book__first_snapshot_empty__asked_again_until_warm(ibkr):
    async with ibkr() as venue:
        book = await venue.book("AGG")
    assert book.best_bid == Decimal("97.99") and book.best_ask == Decimal("98.01")


@aio
async def test_place__reply_on_allowlist__confirmed_and_placed(ibkr, ibkr_server):
    ibkr_server.front.ask_to_confirm = ["o163"]
    async with ibkr(confirm_message_ids=("o163",)) as venue:
        status = await venue.place(_req("kreply1"))
    assert status.state is OrderState.FILLED
    assert any(
        "/iserver/reply/" in r.path and b'"confirmed": true' in r.body for r in ibkr_server.requests
    )


@aio
async def test_place__reply_not_on_allowlist__declined_and_refused(ibkr, ibkr_server):
    ibkr_server.front.ask_to_confirm = ["o354"]
    async with ibkr(confirm_message_ids=("o163",)) as venue:
        with pytest.raises(ExecutionReverted, match="o354"):
            await venue.place(_req("kreply2"))
    assert ibkr_server.engine.orders == {}


@aio
async def test_place__reused_coid__reconcile_error(ibkr):
    async with ibkr() as venue:
        await venue.place(_req("ktwice"))
        with pytest.raises(ReconcileError, match="already registered"):
            await venue.place(_req("ktwice"))


@aio
async def test_place__beyond_cash__execution_reverted(ibkr):
    async with ibkr() as venue:
        with pytest.raises(ExecutionReverted, match="NOT ACCEPTED"):
            await venue.place(_req("kbig", qty="5000"))


@aio
async def test_fills__commission_per_execution__read_by_coid(ibkr):
    async with ibkr() as venue:
        placed = await venue.place(_req("kfees"))
        fills = await venue.fills("AGG", placed.venue_order_id, "kfees")
    assert sum(f.amount for f in fills) == Decimal(20)
    assert all(f.fee is not None and f.fee.asset == "USD" for f in fills)


@aio
async def test_cancel__resting__cancelled_when_read_back(ibkr):
    async with ibkr() as venue:
        placed = await venue.place(_req("krest", price="97.00"))
        assert await venue.cancel("AGG", "krest", placed.venue_order_id) is None
        assert (await venue.lookup("AGG", "krest")).state is OrderState.CANCELLED


@aio
async def test_orders__listing__carries_every_field_of_the_real_payload(ibkr, ibkr_server):
    real = api_sample("ibkr-cpapi-iserver-account-orders.json")["GET /iserver/account/orders"][
        "response_200"
    ]
    async with ibkr() as venue:
        await venue.place(_req("kshape"))
    with urllib.request.urlopen(
        f"{ibkr_server.url}/v1/api/iserver/account/orders?force=true", timeout=5
    ) as resp:
        ours = json.loads(resp.read())
    assert set(real) == set(ours)
    assert set(real["orders"][0]) <= set(ours["orders"][0])
    assert ours["orders"][0]["order_ref"] == "kshape"


@aio
async def test_positions__ledger_cash_and_stock_positions(ibkr):
    async with ibkr() as venue:
        positions = {p.asset: p for p in await venue.positions()}
    assert positions["USD"].quantity == Decimal("250000") and positions["AGG"].quantity == Decimal(
        "500"
    )
