"""A local server that speaks Binance's spot REST API (/api/v3), for the devnet and the tests.

This module owns the Binance wire format: paths, parameters, SIGNED-endpoint security exactly as
Binance documents it (X-MBX-APIKEY header; HMAC-SHA256 of the query string concatenated with the
body, hex, in a `signature` parameter; `timestamp` inside `recvWindow`, default 5000 ms, at most
60000 ms), response shapes with Binance's field names and decimal strings (see
`../shared/data/api-samples/binance-spot-*.json`), and Binance's error codes and messages, which
ccxt maps to its error classes. Matching, balances and faults live in `engine.py`.

It must not be used against real money: it exists so the real ccxt code runs end to end.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from keeper.devnet.exchanges.engine import (
    CANCELED,
    Engine,
    EngineReject,
    Fault,
    MarketSpec,
    Order,
    fmt,
)
from keeper.devnet.exchanges.http import HttpError, LocalServer, Request, Response

API = "/api/v3"

# reason -> (HTTP status, Binance code, message). Messages are Binance's own, byte for byte where
# ccxt matches on them ("Account has insufficient balance for requested action." -> InsufficientFunds).
ERRORS: dict[str, tuple[int, int, str]] = {
    "insufficient_balance": (400, -2010, "Account has insufficient balance for requested action."),
    "duplicate_order": (400, -2010, "Duplicate order sent."),
    "immediate_match": (400, -2010, "Order would immediately match and take."),
    "trading_disabled": (400, -2010, "This account may not place or cancel orders."),
    "account_disabled": (400, -2010, "This action is disabled on self account."),
    "market_closed": (400, -1013, "Market is closed."),
    "filter_lot_size": (400, -1013, "Filter failure: LOT_SIZE"),
    "filter_price": (400, -1013, "Filter failure: PRICE_FILTER"),
    "filter_notional": (400, -1013, "Filter failure: NOTIONAL"),
    "bad_symbol": (400, -1121, "Invalid symbol."),
    "bad_param": (400, -1100, "Illegal characters found in a parameter."),
    "missing_param": (
        400,
        -1102,
        "Mandatory parameter was not sent, was empty/null, or malformed.",
    ),
    "unknown_order": (400, -2011, "Unknown order sent."),
    "order_not_found": (400, -2013, "Order does not exist."),
    "timestamp": (400, -1021, "Timestamp for this request is outside of the recvWindow."),
    "recv_window": (400, -1131, "recvWindow must be less than 60000"),
    "bad_signature": (400, -1022, "Signature for this request is not valid."),
    "bad_api_key_format": (401, -2014, "API-key format invalid."),
    "invalid_api_key": (401, -2015, "Invalid API-key, IP, or permissions for action."),
    "rate_limit": (
        429,
        -1003,
        "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute.",
    ),
    "ip_banned": (
        418,
        -1003,
        "Way too many requests; IP(127.0.0.1) banned. Please use the websocket for live updates to avoid bans.",
    ),
    "server_error": (500, -1000, "An unknown error occured while processing the request."),
    "internal_error": (
        503,
        -1001,
        "Internal error; unable to process your request. Please try again.",
    ),
    "maintenance": (503, -1001, "System is under maintenance."),
    "unknown_code": (400, -9999, "An error this server has no name for."),
}

SIGNED_PATHS = {
    f"{API}/account",
    f"{API}/order",
    f"{API}/openOrders",
    f"{API}/allOrders",
    f"{API}/myTrades",
}


def error_response(reason: str, *, retry_after_s: int | None = None) -> Response:
    status, code, msg = ERRORS[reason]
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
    return Response(status, {"code": code, "msg": msg}, headers)


class BinanceFront:
    """Binance spot REST over an `Engine`. `credentials` maps API key -> secret key."""

    def __init__(self, engine: Engine, credentials: dict[str, str]):
        self.engine = engine
        self.credentials = dict(credentials)

    # -- FrontEnd protocol ---------------------------------------------------------------------

    def is_authenticated(self, request: Request) -> bool:
        params = self._params(request)
        return request.header("X-MBX-APIKEY") is not None or "signature" in params

    def error(self, fault: Fault) -> Response:
        if fault.reason == "bad_gateway":
            return Response(502, "<html><body>502 Bad Gateway</body></html>")
        if fault.reason == "empty_ok":
            return Response(200, "")
        return error_response(fault.reason, retry_after_s=fault.retry_after_s)

    def route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        key = (request.method, request.path)
        if request.path in SIGNED_PATHS:
            params = self._verify_signed(request)
        else:
            params = self._params(request)
        routes: dict[tuple[str, str], tuple[str, Callable[[dict[str, str]], Response]]] = {
            ("GET", f"{API}/ping"): ("market", lambda p: Response(200, {})),
            ("GET", f"{API}/time"): (
                "market",
                lambda p: Response(200, {"serverTime": self.engine.clock_ms()}),
            ),
            ("GET", f"{API}/exchangeInfo"): ("market", self._exchange_info),
            ("GET", f"{API}/depth"): ("book", self._depth),
            ("GET", f"{API}/ticker/24hr"): ("ticker", self._ticker_24hr),
            ("GET", f"{API}/ticker/price"): ("ticker", self._ticker_price),
            ("GET", f"{API}/ticker/bookTicker"): ("ticker", self._book_ticker),
            ("GET", f"{API}/account"): ("account", self._account),
            ("POST", f"{API}/order"): ("place", self._new_order),
            ("GET", f"{API}/order"): ("query", self._query_order),
            ("DELETE", f"{API}/order"): ("cancel", self._cancel_order),
            ("GET", f"{API}/openOrders"): ("open_orders", self._open_orders),
            ("GET", f"{API}/allOrders"): ("open_orders", self._all_orders),
            ("GET", f"{API}/myTrades"): ("trades", self._my_trades),
        }
        if key not in routes:
            raise HttpError(
                Response(404, {"code": -1000, "msg": f"no route {request.method} {request.path}"})
            )
        op, handler = routes[key]
        return op, lambda: self._guard(handler, params)

    # -- security ------------------------------------------------------------------------------

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        """Query wins over body when a parameter is in both (as Binance documents)."""
        body = (
            dict(parse_qsl(request.body.decode(), keep_blank_values=True)) if request.body else {}
        )
        return {**body, **request.query}

    def _verify_signed(self, request: Request) -> dict[str, str]:
        api_key = request.header("X-MBX-APIKEY")
        if not api_key:
            raise HttpError(error_response("bad_api_key_format"))
        secret = self.credentials.get(api_key)
        if secret is None:
            raise HttpError(error_response("invalid_api_key"))
        params = self._params(request)
        signature = params.get("signature")
        if not signature:
            raise HttpError(error_response("missing_param"))
        total = _strip_signature(request.raw_query) + _strip_signature(request.body.decode())
        expected = hmac.new(secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise HttpError(error_response("bad_signature"))
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise HttpError(error_response("missing_param")) from None
        if recv_window > 60_000:
            raise HttpError(error_response("recv_window"))
        server_time = self.engine.clock_ms()
        if not (timestamp < server_time + 1000 and server_time - timestamp <= recv_window):
            raise HttpError(error_response("timestamp"))
        return params

    def _guard(
        self, handler: Callable[[dict[str, str]], Response], params: dict[str, str]
    ) -> Response:
        try:
            return handler(params)
        except EngineReject as e:
            return error_response(e.reason if e.reason in ERRORS else "server_error")

    # -- public endpoints ----------------------------------------------------------------------

    def _exchange_info(self, params: dict[str, str]) -> Response:
        return Response(
            200,
            {
                "timezone": "UTC",
                "serverTime": self.engine.clock_ms(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "SECOND",
                        "intervalNum": 10,
                        "limit": 100,
                    },
                ],
                "exchangeFilters": [],
                "symbols": [_symbol_info(m) for m in self.engine.markets.values()],
            },
        )

    def _market(self, params: dict[str, str]) -> MarketSpec:
        symbol = params.get("symbol")
        if not symbol:
            raise EngineReject("missing_param", "symbol")
        return self.engine.market_by_venue_id(symbol)

    def _depth(self, params: dict[str, str]) -> Response:
        m = self._market(params)
        limit = int(params.get("limit", "100"))
        bids, asks = self.engine.book(m.symbol, limit)
        return Response(
            200,
            {
                "lastUpdateId": len(self.engine.trades) + 1_027_024,
                "bids": [[fmt(p), fmt(q)] for p, q in bids],
                "asks": [[fmt(p), fmt(q)] for p, q in asks],
            },
        )

    def _symbols(self, params: dict[str, str]) -> tuple[list[MarketSpec], bool]:
        if "symbol" in params:
            return [self._market(params)], True
        if "symbols" in params:
            ids = [
                s.strip().strip('"') for s in params["symbols"].strip("[]").split(",") if s.strip()
            ]
            return [self.engine.market_by_venue_id(i) for i in ids], False
        return list(self.engine.markets.values()), False

    def _ticker_24hr(self, params: dict[str, str]) -> Response:
        markets, single = self._symbols(params)
        tickers = [self._ticker(m) for m in markets]
        return Response(200, tickers[0] if single else tickers)

    def _ticker(self, m: MarketSpec) -> dict[str, object]:
        bids, asks = self.engine.book(m.symbol, 1)
        bid, bid_qty = bids[0] if bids else (Decimal(0), Decimal(0))
        ask, ask_qty = asks[0] if asks else (Decimal(0), Decimal(0))
        trades = [t for t in self.engine.trades if t.symbol == m.symbol]
        last = trades[-1].price if trades else (bid + ask) / 2
        now = self.engine.clock_ms()
        volume = sum((t.qty for t in trades), Decimal(0))
        quote_volume = sum((t.quote_qty for t in trades), Decimal(0))
        return {
            "symbol": m.venue_id,
            "priceChange": fmt(Decimal(0)),
            "priceChangePercent": "0.000",
            "weightedAvgPrice": fmt(last),
            "prevClosePrice": fmt(last),
            "lastPrice": fmt(last),
            "lastQty": fmt(trades[-1].qty if trades else Decimal(0)),
            "bidPrice": fmt(bid),
            "bidQty": fmt(bid_qty),
            "askPrice": fmt(ask),
            "askQty": fmt(ask_qty),
            "openPrice": fmt(last),
            "highPrice": fmt(last),
            "lowPrice": fmt(last),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote_volume),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": trades[0].trade_id if trades else -1,
            "lastId": trades[-1].trade_id if trades else -1,
            "count": len(trades),
        }

    def _ticker_price(self, params: dict[str, str]) -> Response:
        markets, single = self._symbols(params)
        out = []
        for m in markets:
            t = self._ticker(m)
            out.append({"symbol": m.venue_id, "price": t["lastPrice"]})
        return Response(200, out[0] if single else out)

    def _book_ticker(self, params: dict[str, str]) -> Response:
        markets, single = self._symbols(params)
        out = []
        for m in markets:
            t = self._ticker(m)
            out.append(
                {
                    "symbol": m.venue_id,
                    "bidPrice": t["bidPrice"],
                    "bidQty": t["bidQty"],
                    "askPrice": t["askPrice"],
                    "askQty": t["askQty"],
                }
            )
        return Response(200, out[0] if single else out)

    # -- signed endpoints ----------------------------------------------------------------------

    def _account(self, params: dict[str, str]) -> Response:
        rate = fmt(self.engine.taker_fee)
        omit_zero = params.get("omitZeroBalances") == "true"
        balances = [
            {"asset": asset, "free": fmt(free), "locked": fmt(locked)}
            for asset, (free, locked) in self.engine.balances().items()
            if not (omit_zero and free == 0 and locked == 0)
        ]
        bps = int(self.engine.taker_fee * 10_000)
        return Response(
            200,
            {
                "makerCommission": bps,
                "takerCommission": bps,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": rate,
                    "taker": rate,
                    "buyer": fmt(Decimal(0)),
                    "seller": fmt(Decimal(0)),
                },
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self.engine.clock_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
        )

    def _new_order(self, params: dict[str, str]) -> Response:
        m = self._market(params)
        if params.get("type", "LIMIT") != "LIMIT":
            raise EngineReject("bad_param", "only LIMIT orders are modelled")
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise EngineReject("bad_param", "side")
        try:
            qty = Decimal(params["quantity"])
            price = Decimal(params["price"])
        except (KeyError, InvalidOperation):
            raise EngineReject("missing_param", "quantity/price") from None
        client_id = params.get("newClientOrderId") or f"web_{len(self.engine.orders) + 1}"
        order = self.engine.place(
            m.symbol, side, qty, price, client_id, time_in_force=params.get("timeInForce", "GTC")
        )
        resp_type = params.get("newOrderRespType", "FULL")
        body: dict[str, object] = {
            "symbol": m.venue_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_id,
            "transactTime": order.created_ms,
        }
        if resp_type in ("RESULT", "FULL"):
            body.update(
                {
                    "price": fmt(order.price),
                    "origQty": fmt(order.qty),
                    "executedQty": fmt(order.executed),
                    "origQuoteOrderQty": fmt(Decimal(0)),
                    "cummulativeQuoteQty": fmt(order.cum_quote),
                    "status": order.status,
                    "timeInForce": order.time_in_force,
                    "type": "LIMIT",
                    "side": order.side,
                    "workingTime": order.created_ms,
                    "selfTradePreventionMode": "NONE",
                }
            )
        if resp_type == "FULL":
            body["fills"] = [
                {
                    "price": fmt(t.price),
                    "qty": fmt(t.qty),
                    "commission": fmt(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in order.trades
            ]
        return Response(200, body)

    def _find(
        self, params: dict[str, str], *, for_cancel: bool
    ) -> tuple[MarketSpec, int | None, str | None]:
        m = self._market(params)
        order_id = int(params["orderId"]) if params.get("orderId") else None
        client_id = params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise EngineReject("missing_param", "orderId or origClientOrderId")
        return m, order_id, (None if order_id is not None else client_id)

    def _query_order(self, params: dict[str, str]) -> Response:
        m, order_id, client_id = self._find(params, for_cancel=False)
        order = self.engine.query(m.symbol, order_id=order_id, client_id=client_id)
        if order is None:
            raise EngineReject("order_not_found")
        return Response(200, _order_json(m, order))

    def _cancel_order(self, params: dict[str, str]) -> Response:
        m, order_id, client_id = self._find(params, for_cancel=True)
        order = self.engine.cancel(m.symbol, order_id=order_id, client_id=client_id)
        body = _order_json(m, order, cancel=True)
        body["origClientOrderId"] = order.client_id
        body["clientOrderId"] = params.get("newClientOrderId") or f"cancel{order.order_id}"
        return Response(200, body)

    def _open_orders(self, params: dict[str, str]) -> Response:
        symbol = None
        if params.get("symbol"):
            symbol = self._market(params).symbol
        orders = self.engine.open_orders(symbol)
        return Response(200, [_order_json(self.engine.markets[o.symbol], o) for o in orders])

    def _all_orders(self, params: dict[str, str]) -> Response:
        m = self._market(params)
        orders = [o for o in self.engine.orders.values() if o.symbol == m.symbol]
        return Response(200, [_order_json(m, o) for o in orders])

    def _my_trades(self, params: dict[str, str]) -> Response:
        m = self._market(params)
        order_id = int(params["orderId"]) if params.get("orderId") else None
        trades = self.engine.order_trades(m.symbol, order_id)
        return Response(
            200,
            [
                {
                    "symbol": m.venue_id,
                    "id": t.trade_id,
                    "orderId": t.order_id,
                    "orderListId": -1,
                    "price": fmt(t.price),
                    "qty": fmt(t.qty),
                    "quoteQty": fmt(t.quote_qty),
                    "commission": fmt(t.commission),
                    "commissionAsset": t.commission_asset,
                    "time": t.time_ms,
                    "isBuyer": t.side == "BUY",
                    "isMaker": t.is_maker,
                    "isBestMatch": True,
                }
                for t in trades
            ],
        )


def _strip_signature(text: str) -> str:
    """`text` without its `signature=...` parameter: what the client signed."""
    if not text:
        return ""
    parts = [p for p in text.split("&") if not p.startswith("signature=")]
    return "&".join(parts)


def _symbol_info(m: MarketSpec) -> dict[str, object]:
    return {
        "symbol": m.venue_id,
        "status": "TRADING",
        "baseAsset": m.base,
        "baseAssetPrecision": m.base_precision,
        "quoteAsset": m.quote,
        "quotePrecision": m.quote_precision,
        "quoteAssetPrecision": m.quote_precision,
        "baseCommissionPrecision": m.base_precision,
        "quoteCommissionPrecision": m.quote_precision,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(m.tick_size),
                "maxPrice": fmt(Decimal(1_000_000)),
                "tickSize": fmt(m.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(m.min_qty),
                "maxQty": fmt(m.max_qty),
                "stepSize": fmt(m.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(m.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt(Decimal(9_000_000)),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _order_json(m: MarketSpec, o: Order, *, cancel: bool = False) -> dict[str, object]:
    body: dict[str, object] = {
        "symbol": m.venue_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_id,
        "price": fmt(o.price),
        "origQty": fmt(o.qty),
        "executedQty": fmt(o.executed),
        "cummulativeQuoteQty": fmt(o.cum_quote),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": "LIMIT",
        "side": o.side,
        "selfTradePreventionMode": "NONE",
    }
    if not cancel:
        body.update(
            {
                "stopPrice": fmt(Decimal(0)),
                "icebergQty": fmt(Decimal(0)),
                "time": o.created_ms,
                "updateTime": o.updated_ms,
                "isWorking": True,
                "workingTime": o.created_ms,
                "origQuoteOrderQty": fmt(Decimal(0)),
            }
        )
    elif o.status == CANCELED:
        body["transactTime"] = o.updated_ms
    return body


def start_binance(engine: Engine, credentials: dict[str, str]) -> LocalServer:
    """Start a Binance spot server for `engine` on a free loopback port; `.url` is its base URL."""
    return LocalServer(BinanceFront(engine, credentials), name="binance").start()
