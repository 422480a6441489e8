"""The local Binance server: signatures, timing security and response shapes as Binance documents."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest

from tests.adapters.conftest import API_KEY, SECRET, api_sample


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _signed(query: str, secret: str = SECRET) -> str:
    return (
        query
        + "&signature="
        + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    )


def test_signature__docs_test_vector__matches_binance_example():
    sample = api_sample("binance-spot-POST-api-v3-order.json")["auth"]["test_vector_from_docs"]
    ours = hmac.new(
        sample["secretKey"].encode(), sample["payload"].encode(), hashlib.sha256
    ).hexdigest()
    assert ours == sample["signature"]


def test_account__valid_signature__answers_balances(binance_server):
    binance_server.reset()
    query = f"timestamp={int(time.time() * 1000)}&recvWindow=5000"
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query)}", {"X-MBX-APIKEY": API_KEY}
    )
    assert status == 200
    assert {b["asset"] for b in body["balances"]} >= {"BTC", "USDT"}


def test_account__wrong_secret__rejected_with_1022(binance_server):
    query = f"timestamp={int(time.time() * 1000)}"
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query, 'not-the-secret')}",
        {"X-MBX-APIKEY": API_KEY},
    )
    assert (status, body["code"]) == (400, -1022)


def test_account__tampered_query__rejected_with_1022(binance_server):
    signed = _signed(f"timestamp={int(time.time() * 1000)}&omitZeroBalances=false")
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{signed.replace('false', 'true')}",
        {"X-MBX-APIKEY": API_KEY},
    )
    assert (status, body["code"]) == (400, -1022)


def test_account__unknown_api_key__rejected_with_2015(binance_server):
    query = f"timestamp={int(time.time() * 1000)}"
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query)}", {"X-MBX-APIKEY": "someone-else"}
    )
    assert (status, body["code"]) == (401, -2015)


@pytest.mark.parametrize("skew_ms", [-6_000, 1_500])
def test_account__timestamp_outside_recv_window__rejected_with_1021(binance_server, skew_ms):
    query = f"timestamp={int(time.time() * 1000) + skew_ms}&recvWindow=5000"
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query)}", {"X-MBX-APIKEY": API_KEY}
    )
    assert (status, body["code"]) == (400, -1021)


def test_account__recv_window_above_60000__rejected(binance_server):
    query = f"timestamp={int(time.time() * 1000)}&recvWindow=60001"
    status, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query)}", {"X-MBX-APIKEY": API_KEY}
    )
    assert (status, body["code"]) == (400, -1131)


def test_account__response__has_every_field_of_the_real_payload(binance_server):
    real = api_sample("binance-spot-GET-api-v3-account.json")["response_200"]
    query = f"timestamp={int(time.time() * 1000)}"
    _, body = _get(
        f"{binance_server.url}/api/v3/account?{_signed(query)}", {"X-MBX-APIKEY": API_KEY}
    )
    assert set(real) <= set(body)
    assert set(real["balances"][0]) == set(body["balances"][0])
    assert all(isinstance(body["balances"][0][k], str) for k in ("free", "locked"))


def test_ticker_price__response__matches_the_real_payload_shape(binance_server):
    real = api_sample("binance-spot-GET-api-v3-ticker-price.json")
    status, single = _get(f"{binance_server.url}/api/v3/ticker/price?symbol=BTCUSDT")
    assert status == 200 and set(single) == set(real["response_single"])
    status, multi = _get(
        f"{binance_server.url}/api/v3/ticker/price?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D"
    )
    assert [t["symbol"] for t in multi] == ["BTCUSDT", "ETHUSDT"]


def test_new_order__full_response__has_every_field_of_the_real_payload(binance_server):
    binance_server.reset()
    real = api_sample("binance-spot-POST-api-v3-order.json")
    query = _signed(
        f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60100"
        f"&newClientOrderId=shape1&newOrderRespType=FULL&timestamp={int(time.time() * 1000)}"
    )
    req = urllib.request.Request(
        f"{binance_server.url}/api/v3/order",
        data=query.encode(),
        method="POST",
        headers={"X-MBX-APIKEY": API_KEY},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = json.loads(resp.read())
    assert set(real["response_FULL"]) <= set(body)
    assert set(real["response_FULL"]["fills"][0]) == set(body["fills"][0])
    assert isinstance(body["orderId"], int) and isinstance(body["transactTime"], int)


def test_signed_endpoint__mixed_query_and_body__signed_as_concatenation(binance_server):
    """Binance's example 3: the signature covers query + body with no '&' between them."""
    binance_server.reset()
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.01&price=60100&newClientOrderId=mixed1&timestamp={int(time.time() * 1000)}"
    signature = hmac.new(SECRET.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{binance_server.url}/api/v3/order?{query}",
        data=f"{body}&signature={signature}".encode(),
        method="POST",
        headers={"X-MBX-APIKEY": API_KEY},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.loads(resp.read())["clientOrderId"] == "mixed1"


def test_server__stop__frees_the_port_quickly():
    from keeper.devnet.exchanges import crypto_engine
    from keeper.devnet.exchanges.binance import start_binance

    server = start_binance(crypto_engine(), {API_KEY: SECRET})
    url = server.url
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/api/v3/ping", timeout=1)


def test_local_venues__all_four__start_on_distinct_ports_and_stop():
    from keeper.devnet.exchanges import LocalVenues

    with LocalVenues() as venues:
        urls = {venues.binance.url, venues.okx.url, venues.alpaca.url, venues.ibkr.url}
        assert len(urls) == 4
        binance_url = venues.binance.url
        with urllib.request.urlopen(f"{binance_url}/api/v3/ping", timeout=5) as resp:
            assert resp.status == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{binance_url}/api/v3/ping", timeout=1)
