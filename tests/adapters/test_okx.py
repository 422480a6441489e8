"""OKX v5 through the real ccxt code against the local OKX server: signing, orders, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from keeper.devnet.exchanges.engine import Fault
from keeper.errors import ConfigError, ExecutionReverted, ReconcileError, TemporaryError
from keeper.venues.cex import CcxtVenue
from keeper.venues.retry import RateLimited
from keeper.venues.types import OrderRequest, OrderState
from tests.adapters.conftest import OKX_KEY, OKX_PASSPHRASE, OKX_SECRET
from tests.aio import aio


@pytest.fixture
def okx(okx_server):
    okx_server.reset()

    def make(**kwargs) -> CcxtVenue:
        options = {
            "api_key": OKX_KEY,
            "secret": OKX_SECRET,
            "password": OKX_PASSPHRASE,
            "timeout_ms": 3_000,
            **kwargs,
        }
        return CcxtVenue("okx", base_url=okx_server.url, **options)

    return make


def _req(cid: str, amount: str = "0.1", price: str = "60100", side: str = "buy") -> OrderRequest:
    return OrderRequest("okx", "BTC/USDT", side, Decimal(amount), Decimal(price), cid)  # type: ignore[arg-type]


def _signed_get(
    server,
    path: str,
    *,
    secret: str = OKX_SECRET,
    passphrase: str = OKX_PASSPHRASE,
    skew: timedelta = timedelta(0),
):
    stamp = (datetime.now(UTC) + skew).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    sign = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}GET{path}".encode(), hashlib.sha256).digest()
    ).decode()
    headers = {
        "OK-ACCESS-KEY": OKX_KEY,
        "OK-ACCESS-SIGN": sign,
        "OK-ACCESS-TIMESTAMP": stamp,
        "OK-ACCESS-PASSPHRASE": passphrase,
    }
    try:
        with urllib.request.urlopen(
            urllib.request.Request(server.url + path, headers=headers), timeout=5
        ) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_signature__documented_prehash__accepted(okx_server):
    status, body = _signed_get(okx_server, "/api/v5/account/balance")
    assert (status, body["code"]) == (200, "0")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret": "wrong"}, "50113"),
        ({"passphrase": "wrong"}, "50105"),
        ({"skew": timedelta(seconds=-45)}, "50102"),
    ],
)
def test_signature__wrong_secret_passphrase_or_stale__refused(okx_server, kwargs, code):
    status, body = _signed_get(okx_server, "/api/v5/account/balance", **kwargs)
    assert (status, body["code"]) == (401, code)


@aio
async def test_rules__okx_instruments__tick_and_lot(okx):
    async with okx() as venue:
        rules = await venue.rules("BTC/USDT")
    assert (rules.tick, rules.step, rules.min_amount) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
    )


@aio
async def test_place__acknowledged_then_lookup_filled_with_fee_from_fills(okx):
    async with okx() as venue:
        placed = await venue.place(_req("kok1"))
        found = await venue.lookup("BTC/USDT", "kok1")
        fills = await venue.fills("BTC/USDT", placed.venue_order_id)
    assert placed.state is OrderState.ACKNOWLEDGED  # OKX answers an order id only
    assert found.state is OrderState.FILLED and found.filled == Decimal("0.1")
    assert [(f.fee.asset, f.fee.amount) for f in fills] == [
        ("BTC", Decimal("0.0001"))
    ]  # OKX's negative fee, made a cost


@aio
async def test_place__insufficient_balance__execution_reverted(okx):
    async with okx() as venue:
        with pytest.raises(ExecutionReverted, match="InsufficientFunds"):
            await venue.place(_req("kok2", amount="100"))


@aio
async def test_place__429__rate_limited_with_retry_after(okx, okx_server):
    async with okx() as venue:
        await venue.load()
        okx_server.engine.faults.add(
            "place", Fault("status", status=429, reason="rate_limit", retry_after_s=2)
        )
        with pytest.raises(RateLimited) as info:
            await venue.place(_req("kok3"))
    assert info.value.retry_after_s == 2


@aio
async def test_place__answer_lost__reconcile_then_found_by_clordid(okx, okx_server):
    async with okx() as venue:
        await venue.load()
        okx_server.engine.faults.add("place", Fault("drop_after"))
        with pytest.raises(ReconcileError):
            await venue.place(_req("kok4"))
        assert (await venue.lookup("BTC/USDT", "kok4")).filled == Decimal("0.1")


@aio
async def test_cancel__resting__cancelled__and_again__reconcile(okx):
    async with okx() as venue:
        placed = await venue.place(_req("kok5", price="59000"))
        assert (
            await venue.cancel("BTC/USDT", "kok5", placed.venue_order_id) is None
        )  # OKX answers ids only
        assert (await venue.lookup("BTC/USDT", "kok5")).state is OrderState.CANCELLED
        with pytest.raises(ReconcileError):
            await venue.cancel("BTC/USDT", "kok5", placed.venue_order_id)


@aio
async def test_balances__server_busy__temporary(okx, okx_server):
    async with okx() as venue:
        await venue.load()
        okx_server.engine.faults.add("account", Fault("status", status=500, reason="server_error"))
        with pytest.raises(TemporaryError):
            await venue.balances()


@aio
async def test_wrong_passphrase__config_error(okx):
    async with okx(password="not-it") as venue:
        with pytest.raises(ConfigError):
            await venue.balances()
