"""A local server that speaks OKX's REST API v5 (spot, cash mode), for the devnet and the tests.

This module owns OKX's wire format: request signing exactly as OKX documents it (headers
OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE, OK-ACCESS-TIMESTAMP as ISO 8601 with milliseconds, and
OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath[?query] + body)),
requests older than 30 seconds refused), the `{"code", "msg", "data": [...]}` envelope, per-order
`sCode`/`sMsg` results, string-typed numbers, negative fees (OKX reports a fee as a balance
change), and OKX's error codes (51008 insufficient balance, 51603 order does not exist, 50011
rate limit, 50113 invalid sign, ...), which ccxt maps to its error classes. Field names follow
OKX's v5 documentation as ccxt parses it. Matching, balances and faults live in `engine.py`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from keeper.devnet.exchanges.engine import (
    CANCELED,
    FILLED,
    Engine,
    EngineReject,
    Fault,
    MarketSpec,
    Order,
)
from keeper.devnet.exchanges.http import HttpError, LocalServer, Request, Response

API = "/api/v5"

# reason -> (HTTP status, OKX code, message)
ERRORS: dict[str, tuple[int, str, str]] = {
    "insufficient_balance": (200, "51008", "Order failed. Insufficient balance in account."),
    "duplicate_order": (200, "51016", "Duplicated client order ID"),
    "filter_lot_size": (200, "51121", "Order quantity must be a multiple of the lot size."),
    "filter_price": (200, "51006", "Order price is not within the price limit."),
    "filter_notional": (
        200,
        "51020",
        "Order amount should be greater than the min available amount.",
    ),
    "bad_symbol": (200, "51001", "Instrument ID does not exist."),
    "order_not_found": (200, "51603", "Order does not exist"),
    "unknown_order": (
        200,
        "51400",
        "Order cancellation failed as the order has been filled, canceled or does not exist.",
    ),
    "missing_param": (400, "50014", "Parameter is required."),
    "bad_param": (400, "51000", "Parameter error"),
    "timestamp": (401, "50102", "Timestamp request expired"),
    "bad_signature": (401, "50113", "Invalid Sign"),
    "invalid_api_key": (401, "50111", "Invalid OK-ACCESS-KEY"),
    "bad_passphrase": (401, "50105", "Invalid OK-ACCESS-PASSPHRASE"),
    "missing_key": (401, "50103", "Request header OK-ACCESS-KEY cannot be empty."),
    "rate_limit": (429, "50011", "Too Many Requests"),
    "server_error": (500, "50013", "Systems are busy. Please try again later."),
    "internal_error": (503, "50026", "System error. Try again later."),
    "maintenance": (503, "50001", "Service temporarily unavailable. Please try again later."),
    "unknown_code": (200, "59999", "An error this server has no name for."),
}

# Per-order failures come back inside data[] with code "1", as OKX answers them.
ORDER_LEVEL = {
    "insufficient_balance",
    "duplicate_order",
    "filter_lot_size",
    "filter_price",
    "filter_notional",
    "unknown_order",
}

_STATE = {
    "NEW": "live",
    "PARTIALLY_FILLED": "partially_filled",
    FILLED: "filled",
    CANCELED: "canceled",
}


def _s(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _err(reason: str, *, retry_after_s: int | None = None) -> Response:
    status, code, msg = ERRORS[reason]
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
    return Response(status, {"code": code, "msg": msg, "data": []}, headers)


class OkxFront:
    """OKX REST v5 over an `Engine`. `credentials` maps API key -> (secret, passphrase)."""

    def __init__(self, engine: Engine, credentials: dict[str, tuple[str, str]]):
        self.engine = engine
        self.credentials = dict(credentials)

    # -- FrontEnd protocol ---------------------------------------------------------------------

    def is_authenticated(self, request: Request) -> bool:
        return (
            request.header("OK-ACCESS-KEY") is not None
            or request.header("OK-ACCESS-SIGN") is not None
        )

    def error(self, fault: Fault) -> Response:
        if fault.reason == "bad_gateway":
            return Response(502, "<html><body>502 Bad Gateway</body></html>")
        return _err(
            fault.reason if fault.reason in ERRORS else "server_error",
            retry_after_s=fault.retry_after_s,
        )

    def route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        path, method = request.path, request.method
        public: dict[tuple[str, str], tuple[str, Callable[[], Response]]] = {
            ("GET", f"{API}/public/time"): (
                "market",
                lambda: _ok([{"ts": str(self.engine.clock_ms())}]),
            ),
            ("GET", f"{API}/public/instruments"): ("market", lambda: self._instruments(request)),
            ("GET", f"{API}/market/books"): (
                "book",
                lambda: self._guard(lambda: self._books(request)),
            ),
            ("GET", f"{API}/market/ticker"): (
                "ticker",
                lambda: self._guard(lambda: self._ticker(request)),
            ),
        }
        if (method, path) in public:
            return public[(method, path)]
        self._verify(request)
        private: dict[tuple[str, str], tuple[str, Callable[[], Response]]] = {
            ("GET", f"{API}/asset/currencies"): ("market", self._currencies),
            ("GET", f"{API}/account/balance"): ("account", self._balance),
            ("POST", f"{API}/trade/order"): (
                "place",
                lambda: self._guard(lambda: self._place_one(request.json() or {})),
            ),
            ("POST", f"{API}/trade/batch-orders"): (
                "place",
                lambda: self._guard(lambda: self._place_batch(request)),
            ),
            ("GET", f"{API}/trade/order"): (
                "query",
                lambda: self._guard(lambda: self._order(request)),
            ),
            ("POST", f"{API}/trade/cancel-order"): (
                "cancel",
                lambda: self._guard(lambda: self._cancel(request)),
            ),
            ("GET", f"{API}/trade/orders-pending"): ("open_orders", self._pending),
            ("GET", f"{API}/trade/fills"): (
                "trades",
                lambda: self._guard(lambda: self._fills(request)),
            ),
            ("GET", f"{API}/trade/fills-history"): (
                "trades",
                lambda: self._guard(lambda: self._fills(request)),
            ),
        }
        if (method, path) not in private:
            raise HttpError(
                Response(404, {"code": "404", "msg": f"no route {method} {path}", "data": []})
            )
        return private[(method, path)]

    # -- security ------------------------------------------------------------------------------

    def _verify(self, request: Request) -> None:
        key = request.header("OK-ACCESS-KEY")
        if not key:
            raise HttpError(_err("missing_key"))
        if key not in self.credentials:
            raise HttpError(_err("invalid_api_key"))
        secret, passphrase = self.credentials[key]
        if request.header("OK-ACCESS-PASSPHRASE") != passphrase:
            raise HttpError(_err("bad_passphrase"))
        stamp = request.header("OK-ACCESS-TIMESTAMP") or ""
        try:
            sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            raise HttpError(_err("timestamp")) from None
        if abs(self.engine.clock_ms() - int(sent.timestamp() * 1000)) > 30_000:
            raise HttpError(_err("timestamp"))
        target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        prehash = stamp + request.method + target + request.body.decode()
        expected = base64.b64encode(
            hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, request.header("OK-ACCESS-SIGN") or ""):
            raise HttpError(_err("bad_signature"))

    def _guard(self, handler: Callable[[], Response]) -> Response:
        try:
            return handler()
        except EngineReject as e:
            reason = e.reason if e.reason in ERRORS else "server_error"
            return _err(reason)

    # -- public --------------------------------------------------------------------------------

    def _inst_id(self, m: MarketSpec) -> str:
        return f"{m.base}-{m.quote}"

    def _market(self, inst_id: str | None) -> MarketSpec:
        for m in self.engine.markets.values():
            if self._inst_id(m) == inst_id:
                return m
        raise EngineReject("bad_symbol", str(inst_id))

    def _instruments(self, request: Request) -> Response:
        if request.query.get("instType", "SPOT") != "SPOT":
            return _ok([])
        return _ok(
            [
                {
                    "instType": "SPOT",
                    "instId": self._inst_id(m),
                    "uly": "",
                    "instFamily": "",
                    "category": "1",
                    "baseCcy": m.base,
                    "quoteCcy": m.quote,
                    "settleCcy": "",
                    "ctVal": "",
                    "ctMult": "",
                    "ctValCcy": "",
                    "optType": "",
                    "stk": "",
                    "listTime": "1606468572000",
                    "expTime": "",
                    "lever": "",
                    "tickSz": _s(m.tick_size),
                    "lotSz": _s(m.step_size),
                    "minSz": _s(m.min_qty),
                    "ctType": "",
                    "alias": "",
                    "state": "live",
                    "maxLmtSz": _s(m.max_qty),
                    "maxMktSz": "1000000",
                    "maxTwapSz": "",
                    "maxIcebergSz": "",
                    "maxTriggerSz": "",
                    "maxStopSz": "",
                }
                for m in self.engine.markets.values()
            ]
        )

    def _books(self, request: Request) -> Response:
        m = self._market(request.query.get("instId"))
        bids, asks = self.engine.book(m.symbol, int(request.query.get("sz", "20")))
        return _ok(
            [
                {
                    "asks": [[_s(p), _s(q), "0", "1"] for p, q in asks],
                    "bids": [[_s(p), _s(q), "0", "1"] for p, q in bids],
                    "ts": str(self.engine.clock_ms()),
                }
            ]
        )

    def _ticker(self, request: Request) -> Response:
        m = self._market(request.query.get("instId"))
        bids, asks = self.engine.book(m.symbol, 1)
        trades = [t for t in self.engine.trades if t.symbol == m.symbol]
        last = trades[-1].price if trades else (bids[0][0] + asks[0][0]) / 2
        return _ok(
            [
                {
                    "instType": "SPOT",
                    "instId": self._inst_id(m),
                    "last": _s(last),
                    "lastSz": _s(trades[-1].qty) if trades else "0",
                    "askPx": _s(asks[0][0]) if asks else "",
                    "askSz": _s(asks[0][1]) if asks else "",
                    "bidPx": _s(bids[0][0]) if bids else "",
                    "bidSz": _s(bids[0][1]) if bids else "",
                    "open24h": _s(last),
                    "high24h": _s(last),
                    "low24h": _s(last),
                    "volCcy24h": "0",
                    "vol24h": "0",
                    "sodUtc0": _s(last),
                    "sodUtc8": _s(last),
                    "ts": str(self.engine.clock_ms()),
                }
            ]
        )

    # -- private -------------------------------------------------------------------------------

    def _currencies(self) -> Response:
        assets = sorted(
            {m.base for m in self.engine.markets.values()}
            | {m.quote for m in self.engine.markets.values()}
        )
        return _ok(
            [
                {
                    "ccy": a,
                    "name": a,
                    "chain": f"{a}-{a}",
                    "canDep": True,
                    "canWd": True,
                    "canInternal": True,
                    "minDep": "0.00000001",
                    "minWd": "0.001",
                    "maxWd": "1000000",
                    "wdTickSz": "8",
                    "wdQuota": "10000000",
                    "usedWdQuota": "0",
                    "minFee": "0.0001",
                    "maxFee": "0.0002",
                    "fee": "0.0001",
                    "mainNet": True,
                    "needTag": False,
                    "minDepArrivalConfirm": "1",
                    "minWdUnlockConfirm": "1",
                    "depQuotaFixed": "",
                    "usedDepQuotaFixed": "",
                    "depQuoteDailyLayer2": "",
                }
                for a in assets
            ]
        )

    def _balance(self) -> Response:
        now = str(self.engine.clock_ms())
        details = [
            {
                "ccy": asset,
                "eq": _s(free + locked),
                "cashBal": _s(free + locked),
                "uTime": now,
                "isoEq": "0",
                "availEq": _s(free),
                "disEq": "0",
                "availBal": _s(free),
                "frozenBal": _s(locked),
                "ordFrozen": _s(locked),
                "liab": "0",
                "upl": "0",
                "uplLiab": "0",
                "crossLiab": "0",
                "isoLiab": "0",
                "mgnRatio": "",
                "interest": "0",
                "twap": "0",
                "maxLoan": "",
                "eqUsd": "",
                "notionalLever": "",
                "stgyEq": "0",
                "isoUpl": "",
                "spotInUseAmt": "",
            }
            for asset, (free, locked) in self.engine.balances().items()
            if free or locked
        ]
        return _ok(
            [
                {
                    "uTime": now,
                    "totalEq": "",
                    "isoEq": "0",
                    "adjEq": "",
                    "ordFroz": "",
                    "imr": "",
                    "mmr": "",
                    "details": details,
                }
            ]
        )

    def _place_batch(self, request: Request) -> Response:
        """POST /trade/batch-orders (what ccxt uses): a JSON array; per-order results in data[]."""
        tickets = request.json() or []
        if not isinstance(tickets, list) or not 1 <= len(tickets) <= 20:
            return _err("bad_param")
        results = [self._place_one(t) for t in tickets]
        data = [row for r in results for row in (r.body or {}).get("data", [])]
        failed = sum(1 for row in data if row.get("sCode") != "0")
        code = "0" if failed == 0 else ("1" if failed == len(data) else "2")
        now = str(self.engine.clock_ms())
        return Response(
            200,
            {"code": code, "msg": "", "data": data, "inTime": now + "000", "outTime": now + "500"},
        )

    def _place_one(self, body: dict) -> Response:
        m = self._market(body.get("instId"))
        if body.get("ordType") != "limit" or body.get("tdMode") not in ("cash", None):
            return _err("bad_param")
        side = str(body.get("side", "")).upper()
        try:
            qty, price = Decimal(str(body["sz"])), Decimal(str(body["px"]))
        except (KeyError, InvalidOperation):
            return _err("missing_param")
        cid = str(body.get("clOrdId") or "")
        try:
            order = self.engine.place(
                m.symbol, side, qty, price, cid or f"auto{len(self.engine.orders)}"
            )  # type: ignore[arg-type]
        except EngineReject as e:
            if e.reason in ORDER_LEVEL:
                _, code, msg = ERRORS[e.reason]
                return Response(
                    200,
                    {
                        "code": "1",
                        "msg": "",
                        "data": [
                            {"clOrdId": cid, "ordId": "", "sCode": code, "sMsg": msg, "tag": ""}
                        ],
                    },
                )
            raise
        now = str(self.engine.clock_ms())
        return Response(
            200,
            {
                "code": "0",
                "msg": "",
                "data": [
                    {
                        "clOrdId": cid,
                        "ordId": str(order.order_id),
                        "sCode": "0",
                        "sMsg": "Order placed",
                        "tag": str(body.get("tag", "")),
                        "ts": now,
                    }
                ],
                "inTime": now + "000",
                "outTime": now + "500",
            },
        )

    def _find(self, query: dict[str, str]) -> Order:
        m = self._market(query.get("instId"))
        if query.get("ordId"):
            order = self.engine.query(m.symbol, order_id=int(query["ordId"]))
        else:
            order = self.engine.query(m.symbol, client_id=query.get("clOrdId"))
        if order is None:
            raise EngineReject("order_not_found")
        return order

    def _order_json(self, o: Order) -> dict[str, str]:
        m = self.engine.markets[o.symbol]
        fee = sum((t.commission for t in o.trades), Decimal(0))
        fee_ccy = (
            o.trades[0].commission_asset if o.trades else (m.base if o.side == "BUY" else m.quote)
        )
        average = (o.cum_quote / o.executed) if o.executed else None
        last = o.trades[-1] if o.trades else None
        return {
            "instType": "SPOT",
            "instId": self._inst_id(m),
            "tgtCcy": "",
            "ccy": "",
            "ordId": str(o.order_id),
            "clOrdId": o.client_id,
            "tag": "",
            "px": _s(o.price),
            "pxUsd": "",
            "pxVol": "",
            "pxType": "",
            "sz": _s(o.qty),
            "pnl": "0",
            "ordType": "limit",
            "side": o.side.lower(),
            "posSide": "net",
            "tdMode": "cash",
            "accFillSz": _s(o.executed),
            "fillPx": _s(last.price) if last else "",
            "tradeId": str(last.trade_id) if last else "",
            "fillSz": _s(last.qty) if last else "0",
            "fillTime": str(last.time_ms) if last else "",
            "avgPx": _s(average) if average is not None else "",
            "state": _STATE[o.status],
            "lever": "",
            "attachAlgoClOrdId": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tpOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "slOrdPx": "",
            "feeCcy": fee_ccy,
            "fee": _s(-fee),
            "rebateCcy": m.quote,
            "rebate": "0",
            "source": "",
            "category": "normal",
            "reduceOnly": "false",
            "cancelSource": "1" if o.status == CANCELED else "",
            "quickMgnType": "",
            "algoClOrdId": "",
            "algoId": "",
            "uTime": str(o.updated_ms),
            "cTime": str(o.created_ms),
        }

    def _order(self, request: Request) -> Response:
        return _ok([self._order_json(self._find(request.query))])

    def _cancel(self, request: Request) -> Response:
        body = request.json() or {}
        m = self._market(body.get("instId"))
        try:
            if body.get("ordId"):
                order = self.engine.cancel(m.symbol, order_id=int(body["ordId"]))
            else:
                order = self.engine.cancel(m.symbol, client_id=body.get("clOrdId"))
        except EngineReject:
            _, code, msg = ERRORS["unknown_order"]
            return Response(
                200,
                {
                    "code": "1",
                    "msg": "",
                    "data": [
                        {
                            "clOrdId": body.get("clOrdId", ""),
                            "ordId": body.get("ordId", ""),
                            "sCode": code,
                            "sMsg": msg,
                        }
                    ],
                },
            )
        return _ok(
            [{"clOrdId": order.client_id, "ordId": str(order.order_id), "sCode": "0", "sMsg": ""}]
        )

    def _pending(self) -> Response:
        return _ok([self._order_json(o) for o in self.engine.open_orders()])

    def _fills(self, request: Request) -> Response:
        q = request.query
        rows = []
        for o in self.engine.orders.values():
            m = self.engine.markets[o.symbol]
            if q.get("instId") and self._inst_id(m) != q["instId"]:
                continue
            if q.get("ordId") and str(o.order_id) != q["ordId"]:
                continue
            for t in o.trades:
                rows.append(
                    {
                        "instType": "SPOT",
                        "instId": self._inst_id(m),
                        "tradeId": str(t.trade_id),
                        "ordId": str(o.order_id),
                        "clOrdId": o.client_id,
                        "billId": str(t.trade_id * 10),
                        "tag": "",
                        "fillPx": _s(t.price),
                        "fillSz": _s(t.qty),
                        "fillIdxPx": "",
                        "fillPnl": "0",
                        "fillPxVol": "",
                        "fillPxUsd": "",
                        "fillMarkVol": "",
                        "fillFwdPx": "",
                        "fillMarkPx": "",
                        "side": o.side.lower(),
                        "posSide": "net",
                        "execType": "M" if t.is_maker else "T",
                        "feeCcy": t.commission_asset,
                        "fee": _s(-t.commission),
                        "ts": str(t.time_ms),
                        "fillTime": str(t.time_ms),
                    }
                )
        return _ok(rows)


def _ok(data: list[object]) -> Response:
    return Response(200, {"code": "0", "msg": "", "data": data})


def start_okx(engine: Engine, credentials: dict[str, tuple[str, str]]) -> LocalServer:
    """Start an OKX v5 server for `engine`; `credentials` maps API key -> (secret, passphrase)."""
    return LocalServer(OkxFront(engine, credentials), name="okx").start()
