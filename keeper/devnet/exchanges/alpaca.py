"""A local server that speaks Alpaca's Trading API v2 (and the latest-quote call of its Market
Data API v2), for the devnet and the tests.

This module owns Alpaca's wire format: the APCA-API-KEY-ID / APCA-API-SECRET-KEY header check,
JSON order bodies, response objects with Alpaca's field names and string-typed numbers (see
`../shared/data/api-samples/alpaca-v2-*.json`), the `/v2/orders:by_client_order_id` lookup,
204 on cancel, and Alpaca's error bodies `{"code": ..., "message": ...}` with their HTTP
statuses. Matching, balances and faults live in `engine.py`; outside market hours
(`engine.market_open = False`) orders are accepted and rest until `engine.open_market()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from keeper.devnet.exchanges.engine import (
    CANCELED,
    FILLED,
    NEW,
    PARTIALLY_FILLED,
    Engine,
    EngineReject,
    Fault,
    MarketSpec,
    Order,
)
from keeper.devnet.exchanges.http import HttpError, LocalServer, Request, Response

# reason -> (HTTP status, Alpaca code, message)
ERRORS: dict[str, tuple[int, int, str]] = {
    "unauthorized": (401, 40110000, "request is not authorized"),
    "insufficient_balance": (403, 40310000, "insufficient buying power"),
    "insufficient_qty": (403, 40310000, "insufficient qty available for order"),
    "invalid": (422, 40010001, "invalid order parameters"),
    "duplicate_order": (422, 40010001, "client_order_id must be unique"),
    "not_cancelable": (422, 42210000, "order is not cancelable"),
    "order_not_found": (404, 40410000, "order not found"),
    "bad_symbol": (422, 40010001, "asset not found"),
    "rate_limit": (429, 42910000, "rate limit exceeded"),
    "server_error": (500, 50010000, "internal server error occurred"),
    "unavailable": (503, 50310000, "service unavailable"),
}

_STATUS = {NEW: "new", PARTIALLY_FILLED: "partially_filled", FILLED: "filled", CANCELED: "canceled"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def order_uuid(order_id: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-order-{order_id}"))


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


class AlpacaFront:
    """Alpaca Trading API v2 over an `Engine` whose markets are "<TICKER>/USD"."""

    def __init__(self, engine: Engine, key_id: str, secret_key: str):
        self.engine = engine
        self.key_id = key_id
        self.secret_key = secret_key
        self.account_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-account-{key_id}"))

    def is_authenticated(self, request: Request) -> bool:
        return (
            request.header("APCA-API-KEY-ID") is not None
            or request.header("APCA-API-SECRET-KEY") is not None
        )

    def error(self, fault: Fault) -> Response:
        status, code, message = ERRORS.get(fault.reason, ERRORS["server_error"])
        headers = (
            {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
        )
        return Response(status, {"code": code, "message": message}, headers)

    def route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        if (request.header("APCA-API-KEY-ID"), request.header("APCA-API-SECRET-KEY")) != (
            self.key_id,
            self.secret_key,
        ):
            raise HttpError(_err("unauthorized"))
        path, method = request.path, request.method
        if method == "GET" and path == "/v2/account":
            return "account", self._account
        if method == "GET" and path == "/v2/positions":
            return "account", self._positions
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            return "query", lambda: self._guard(
                lambda: self._by_client_id(request.query.get("client_order_id", ""))
            )
        if method == "POST" and path == "/v2/orders":
            return "place", lambda: self._guard(lambda: self._new_order(request))
        if method == "GET" and path == "/v2/orders":
            return "query", self._list_orders
        if path.startswith("/v2/orders/"):
            order_id = path.rsplit("/", 1)[-1]
            if method == "GET":
                return "query", lambda: self._guard(lambda: self._get_order(order_id))
            if method == "DELETE":
                return "cancel", lambda: self._guard(lambda: self._cancel(order_id))
        if method == "GET" and path == "/v2/account/activities/FILL":
            return "trades", lambda: self._fills(request.query.get("order_id"))
        if method == "GET" and path.startswith("/v2/stocks/") and path.endswith("/quotes/latest"):
            return "book", lambda: self._guard(lambda: self._latest_quote(path.split("/")[3]))
        raise HttpError(Response(404, {"code": 40410000, "message": "endpoint not found"}))

    # -- helpers -------------------------------------------------------------------------------

    def _guard(self, handler: Callable[[], Response]) -> Response:
        try:
            return handler()
        except EngineReject as e:
            if e.reason in (
                "filter_lot_size",
                "filter_price",
                "filter_notional",
                "missing_param",
                "bad_param",
            ):
                return _err("invalid", e.detail)
            return _err(e.reason if e.reason in ERRORS else "server_error", e.detail)

    def _market(self, symbol: str) -> MarketSpec:
        for m in self.engine.markets.values():
            if m.base == symbol:
                return m
        raise EngineReject("bad_symbol", symbol)

    def _find(self, order_id: str) -> Order:
        for o in self.engine.orders.values():
            if order_uuid(o.order_id) == order_id:
                return o
        raise EngineReject("order_not_found", order_id)

    def _order_json(self, o: Order) -> dict[str, object]:
        m = self.engine.markets[o.symbol]
        average = (o.cum_quote / o.executed) if o.executed else None
        status = _STATUS[o.status]
        if status == "new" and self.engine.market_open is False:
            status = "accepted"
        return {
            "id": order_uuid(o.order_id),
            "client_order_id": o.client_id,
            "created_at": _iso(o.created_ms),
            "updated_at": _iso(o.updated_ms),
            "submitted_at": _iso(o.created_ms),
            "filled_at": _iso(o.updated_ms) if o.status == FILLED else None,
            "expired_at": None,
            "canceled_at": _iso(o.updated_ms) if o.status == CANCELED else None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset-{m.base}")),
            "symbol": m.base,
            "asset_class": "us_equity",
            "notional": None,
            "qty": _num(o.qty),
            "filled_qty": _num(o.executed),
            "filled_avg_price": None if average is None else f"{average:f}",
            "order_class": "simple",
            "order_type": "limit",
            "type": "limit",
            "side": o.side.lower(),
            "time_in_force": o.time_in_force.lower(),
            "limit_price": f"{o.price:f}",
            "stop_price": None,
            "status": status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "position_intent": "buy_to_open" if o.side == "BUY" else "sell_to_close",
            "commission": f"{sum((t.commission for t in o.trades), Decimal(0)):f}",
        }

    # -- endpoints -----------------------------------------------------------------------------

    def _account(self) -> Response:
        cash = self.engine.free["USD"] + self.engine.locked["USD"]
        long_value = Decimal(0)
        for asset, (free, locked) in self.engine.balances().items():
            if asset != "USD" and free + locked:
                long_value += (free + locked) * self._mid(self._market(asset))
        equity = cash + long_value
        buying_power = self.engine.free["USD"]
        return Response(
            200,
            {
                "account_blocked": False,
                "accrued_fees": "0",
                "account_number": "PA3KEEPER01",
                "buying_power": f"{buying_power:f}",
                "cash": f"{cash:f}",
                "created_at": "2019-06-12T22:47:07.99658Z",
                "currency": "USD",
                "daytrade_count": 0,
                "daytrading_buying_power": f"{buying_power:f}",
                "equity": f"{equity:f}",
                "id": self.account_id,
                "initial_margin": "0",
                "last_equity": f"{equity:f}",
                "last_maintenance_margin": "0",
                "non_marginable_buying_power": f"{buying_power:f}",
                "long_market_value": f"{long_value:f}",
                "maintenance_margin": "0",
                "multiplier": "1",
                "pattern_day_trader": False,
                "portfolio_value": f"{equity:f}",
                "regt_buying_power": f"{buying_power:f}",
                "short_market_value": "0",
                "shorting_enabled": False,
                "sma": "0",
                "status": "ACTIVE",
                "trade_suspended_by_user": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "options_buying_power": f"{buying_power:f}",
                "options_approved_level": "0",
                "options_trading_level": "0",
            },
        )

    def _mid(self, m: MarketSpec) -> Decimal:
        bids, asks = self.engine.book(m.symbol, 1)
        if bids and asks:
            return (bids[0][0] + asks[0][0]) / 2
        return bids[0][0] if bids else (asks[0][0] if asks else Decimal(0))

    def _positions(self) -> Response:
        out = []
        for asset, (free, locked) in self.engine.balances().items():
            qty = free + locked
            if asset == "USD" or qty == 0:
                continue
            m = self._market(asset)
            price = self._mid(m)
            value = qty * price
            out.append(
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset-{asset}")),
                    "symbol": asset,
                    "exchange": "ARCA",
                    "asset_class": "us_equity",
                    "avg_entry_price": f"{price:f}",
                    "qty": _num(qty),
                    "qty_available": _num(free),
                    "side": "long",
                    "market_value": f"{value:f}",
                    "cost_basis": f"{value:f}",
                    "unrealized_pl": "0",
                    "unrealized_plpc": "0",
                    "unrealized_intraday_pl": "0",
                    "unrealized_intraday_plpc": "0",
                    "current_price": f"{price:f}",
                    "lastday_price": f"{price:f}",
                    "change_today": "0",
                }
            )
        return Response(200, out)

    def _new_order(self, request: Request) -> Response:
        body = request.json() or {}
        try:
            m = self._market(str(body["symbol"]))
            qty = Decimal(str(body["qty"]))
            side = str(body["side"]).upper()
            kind = str(body.get("type", "market"))
            tif = str(body.get("time_in_force", "day")).upper()
            price = Decimal(str(body["limit_price"])) if kind == "limit" else None
        except (KeyError, InvalidOperation, ValueError):
            raise EngineReject(
                "invalid", "symbol, qty, side, type, time_in_force, limit_price"
            ) from None
        if kind != "limit" or price is None or side not in ("BUY", "SELL") or qty <= 0:
            raise EngineReject("invalid", "only limit orders with a positive qty are modelled")
        client_id = str(body.get("client_order_id") or uuid.uuid4())
        if any(o.client_id == client_id for o in self.engine.orders.values()):
            raise EngineReject(
                "duplicate_order", client_id
            )  # Alpaca: unique for the account's life
        try:
            order = self.engine.place(
                m.symbol,
                side,
                qty,
                price,
                client_id,
                time_in_force=tif,
                reject_duplicate_open_id=False,
            )
        except EngineReject as e:
            if e.reason == "insufficient_balance" and side == "SELL":
                raise EngineReject("insufficient_qty", e.detail) from None
            raise
        return Response(200, self._order_json(order))

    def _by_client_id(self, client_id: str) -> Response:
        order = self.engine.query(client_id=client_id)
        if order is None:
            raise EngineReject("order_not_found", client_id)
        return Response(200, self._order_json(order))

    def _get_order(self, order_id: str) -> Response:
        order = self._find(order_id)
        order = self.engine.query(order_id=order.order_id) or order
        return Response(200, self._order_json(order))

    def _list_orders(self) -> Response:
        return Response(200, [self._order_json(o) for o in self.engine.open_orders()])

    def _cancel(self, order_id: str) -> Response:
        order = self._find(order_id)
        try:
            self.engine.cancel(order_id=order.order_id)
        except EngineReject:
            raise EngineReject("not_cancelable", order_id) from None
        return Response(204, None)

    def _fills(self, order_id: str | None) -> Response:
        out = []
        for o in self.engine.orders.values():
            uid = order_uuid(o.order_id)
            if order_id is not None and uid != order_id:
                continue
            cum = Decimal(0)
            for t in o.trades:
                cum += t.qty
                out.append(
                    {
                        "id": f"{t.time_ms}::{uuid.uuid5(uuid.NAMESPACE_URL, f'fill-{t.trade_id}')}",
                        "activity_type": "FILL",
                        "transaction_time": _iso(t.time_ms),
                        "type": "fill" if cum == o.qty else "partial_fill",
                        "price": f"{t.price:f}",
                        "qty": _num(t.qty),
                        "side": o.side.lower(),
                        "symbol": self.engine.markets[o.symbol].base,
                        "leaves_qty": _num(o.qty - cum),
                        "order_id": uid,
                        "cum_qty": _num(cum),
                        "order_status": "filled" if cum == o.qty else "partially_filled",
                    }
                )
        return Response(200, out)

    def _latest_quote(self, symbol: str) -> Response:
        m = self._market(symbol)
        bids, asks = self.engine.book(m.symbol, 1)
        now = _iso(self.engine.clock_ms())
        return Response(
            200,
            {
                "symbol": symbol,
                "quote": {
                    "t": now,
                    "ax": "V",
                    "ap": asks[0][0] if asks else Decimal(0),  # JSON numbers, as the data API sends
                    "as": int(asks[0][1]) if asks else 0,
                    "bx": "V",
                    "bp": bids[0][0] if bids else Decimal(0),
                    "bs": int(bids[0][1]) if bids else 0,
                    "c": ["R"],
                    "z": "B",
                },
            },
        )


def _err(reason: str, detail: str = "") -> Response:
    status, code, message = ERRORS[reason]
    return Response(status, {"code": code, "message": message})


def start_alpaca(engine: Engine, key_id: str, secret_key: str) -> LocalServer:
    """Start an Alpaca server for `engine` on a free loopback port (trading and data on one host)."""
    return LocalServer(AlpacaFront(engine, key_id, secret_key), name="alpaca").start()
