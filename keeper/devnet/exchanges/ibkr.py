"""A local server that speaks the Interactive Brokers Client Portal Web API (as served by the
Client Portal Gateway under /v1/api), for the devnet and the tests.

This module owns IBKR's wire format and session model:

- session: the gateway holds the login (a human logs in through a browser); clients send no
  credentials. `/iserver/auth/status` reports `authenticated`/`connected`/`competing`; a session
  that is connected but not yet a brokerage session is completed by `POST /iserver/auth/ssodh/init`;
  `/iserver/*` answers 401 until then. `GET /iserver/accounts` must be called before orders.
- orders: `POST /iserver/account/{acct}/orders` with `{"orders": [...]}` (conid, orderType LMT,
  side, tif, quantity, price, cOID) answers either an ack `[{"order_id", "order_status",
  "encrypt_message"}]` or an order reply message `[{"id", "message", "isSuppressed",
  "messageIds"}]` to be confirmed with `POST /iserver/reply/{id}`; a reused cOID is refused.
- reads: `/iserver/account/orders` (orders with `order_ref` = cOID, shaped on
  `../shared/data/api-samples/ibkr-cpapi-iserver-account-orders.json`), `/iserver/account/trades`,
  `/portfolio/accounts`, `/portfolio/{acct}/positions/{page}`, `/portfolio/{acct}/ledger`,
  `/iserver/secdef/search` and `/iserver/marketdata/snapshot` (the first snapshot of a conid
  returns no fields, as the real one does until the stream is warm).

Matching, balances and faults live in `engine.py`.
"""

from __future__ import annotations

import uuid
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

PREFIX = "/v1/api"

_STATUS = {
    "NEW": "Submitted",
    "PARTIALLY_FILLED": "Submitted",
    FILLED: "Filled",
    CANCELED: "Cancelled",
}


def _yymmddhhmmss(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%y%m%d%H%M%S")


class IbkrFront:
    """The Client Portal Gateway's REST API over an `Engine` whose markets are "<TICKER>/USD"."""

    def __init__(self, engine: Engine, account_id: str = "DU1234567"):
        self.engine = engine
        self.account_id = account_id
        self.session = "authenticated"  # "logged_out" | "connected" | "authenticated"
        self.accounts_queried = False
        # Message ids the gateway asks to confirm for every new order (e.g. "o163" price cap).
        self.ask_to_confirm: list[str] = []
        self._pending: dict[str, dict[str, object]] = {}
        self._warm: set[int] = set()
        self.conids = {
            m.base: 100_001 + i
            for i, m in enumerate(sorted(engine.markets.values(), key=lambda m: m.base))
        }

    # -- FrontEnd protocol ---------------------------------------------------------------------

    def is_authenticated(self, request: Request) -> bool:
        return request.path.startswith(f"{PREFIX}/iserver/account") or request.path.startswith(
            f"{PREFIX}/portfolio"
        )

    def error(self, fault: Fault) -> Response:
        headers = (
            {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
        )
        if fault.status == 429:
            return Response(429, {"error": "Too many requests"}, headers)
        return Response(fault.status, {"error": fault.reason, "statusCode": fault.status}, headers)

    def route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        if not request.path.startswith(PREFIX):
            raise HttpError(Response(404, {"error": "not found"}))
        path = request.path[len(PREFIX) :]
        method = request.method
        if path == "/iserver/auth/status":
            return "session", self._auth_status
        if path == "/iserver/auth/ssodh/init" and method == "POST":
            return "session", self._ssodh_init
        if path == "/tickle" and method == "POST":
            return "session", self._tickle
        if path.startswith("/iserver") and self.session != "authenticated":
            raise HttpError(Response(401, {"error": "not authenticated", "statusCode": 401}))
        if self.session == "logged_out":
            raise HttpError(Response(401, {"error": "not authenticated", "statusCode": 401}))
        parts = path.strip("/").split("/")
        if path == "/iserver/accounts":
            return "account", self._accounts
        if path == "/portfolio/accounts":
            return "account", self._portfolio_accounts
        if len(parts) == 4 and parts[0] == "portfolio" and parts[2] == "positions":
            return "account", lambda: self._positions(parts[1])
        if len(parts) == 3 and parts[0] == "portfolio" and parts[2] == "ledger":
            return "account", lambda: self._ledger(parts[1])
        if path == "/iserver/secdef/search":
            return "market", lambda: self._search(request.query.get("symbol", ""))
        if path == "/iserver/marketdata/snapshot":
            return "book", lambda: self._snapshot(request.query.get("conids", ""))
        if path == "/iserver/account/orders" and method == "GET":
            return "query", self._orders
        if path == "/iserver/account/trades":
            return "trades", self._trades
        if (
            len(parts) == 4
            and parts[:2] == ["iserver", "account"]
            and parts[3] == "orders"
            and method == "POST"
        ):
            return "place", lambda: self._guard(lambda: self._place(parts[2], request))
        if len(parts) == 3 and parts[:2] == ["iserver", "reply"] and method == "POST":
            return "place", lambda: self._guard(lambda: self._reply(parts[2], request))
        if (
            len(parts) == 5
            and parts[:2] == ["iserver", "account"]
            and parts[3] == "order"
            and method == "DELETE"
        ):
            return "cancel", lambda: self._cancel(parts[2], parts[4])
        raise HttpError(Response(404, {"error": f"no route {method} {path}"}))

    # -- session -------------------------------------------------------------------------------

    def _auth_status(self) -> Response:
        return Response(
            200,
            {
                "authenticated": self.session == "authenticated",
                "competing": False,
                "connected": self.session != "logged_out",
                "message": "",
                "MAC": "00:00:00:00:00:00",
                "serverInfo": {"serverName": "KeeperDevnet", "serverVersion": "Build 10.25.0a"},
                "hardware_info": "devnet",
                "fail": "",
            },
        )

    def _ssodh_init(self) -> Response:
        if self.session == "logged_out":
            return Response(401, {"error": "not authenticated", "statusCode": 401})
        self.session = "authenticated"
        return Response(
            200, {"passed": True, "authenticated": True, "connected": True, "competing": False}
        )

    def _tickle(self) -> Response:
        status = self._auth_status().body
        return Response(
            200,
            {
                "session": uuid.uuid4().hex,
                "ssoExpires": 540_000,
                "collission": False,
                "userId": 1,
                "iserver": {"authStatus": status},
            },
        )

    def _accounts(self) -> Response:
        self.accounts_queried = True
        return Response(
            200,
            {"accounts": [self.account_id], "selectedAccount": self.account_id, "isPaper": True},
        )

    def _portfolio_accounts(self) -> Response:
        return Response(
            200,
            [
                {
                    "id": self.account_id,
                    "accountId": self.account_id,
                    "accountVan": self.account_id,
                    "accountTitle": "",
                    "displayName": self.account_id,
                    "accountAlias": None,
                    "accountStatus": 1644814800000,
                    "currency": "USD",
                    "type": "DEMO",
                    "tradingType": "PMRGN",
                    "faclient": False,
                    "clearingStatus": "O",
                    "covestor": False,
                    "noClientTrading": False,
                    "desc": self.account_id,
                }
            ],
        )

    # -- market data ---------------------------------------------------------------------------

    def _market_by_conid(self, conid: int) -> MarketSpec:
        for base, cid in self.conids.items():
            if cid == conid:
                return next(m for m in self.engine.markets.values() if m.base == base)
        raise EngineReject("bad_symbol", str(conid))

    def _search(self, symbol: str) -> Response:
        if symbol not in self.conids:
            return Response(200, [])
        return Response(
            200,
            [
                {
                    "conid": str(self.conids[symbol]),
                    "companyHeader": f"{symbol} - ARCA",
                    "companyName": symbol,
                    "symbol": symbol,
                    "description": "ARCA",
                    "restricted": None,
                    "sections": [{"secType": "STK", "exchange": "ARCA;SMART"}],
                }
            ],
        )

    def _snapshot(self, conids: str) -> Response:
        out = []
        for raw in [c for c in conids.split(",") if c]:
            conid = int(raw)
            m = self._market_by_conid(conid)
            row: dict[str, object] = {
                "conid": conid,
                "conidEx": str(conid),
                "server_id": "q0",
                "_updated": self.engine.clock_ms(),
            }
            if conid in self._warm:
                bids, asks = self.engine.book(m.symbol, 1)
                if bids:
                    row["84"], row["88"] = f"{bids[0][0]:f}", f"{bids[0][1]:f}"
                if asks:
                    row["86"], row["85"] = f"{asks[0][0]:f}", f"{asks[0][1]:f}"
                trades = [t for t in self.engine.trades if t.symbol == m.symbol]
                row["31"] = f"{trades[-1].price:f}" if trades else row.get("84", "")
            self._warm.add(conid)
            out.append(row)
        return Response(200, out)

    # -- orders --------------------------------------------------------------------------------

    def _guard(self, handler: Callable[[], Response]) -> Response:
        try:
            return handler()
        except EngineReject as e:
            if e.reason == "insufficient_balance":
                message = (
                    "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION "
                    "YOUR AVAILABLE FUNDS MUST EXCEED THE ORDER VALUE"
                )
                return Response(200, [{"error": message}])
            if e.reason == "duplicate_order":
                return Response(
                    200, [{"error": f"Local order ID={e.detail} is already registered."}]
                )
            return Response(400, {"error": f"{e.reason}: {e.detail}", "statusCode": 400})

    def _check_account(self, account: str) -> None:
        if account != self.account_id:
            raise EngineReject("bad_account", account)
        if not self.accounts_queried:
            raise EngineReject("accounts_first", "Please query /accounts first")

    def _place(self, account: str, request: Request) -> Response:
        self._check_account(account)
        body = request.json() or {}
        orders = body.get("orders") if isinstance(body, dict) else body
        if not orders or len(orders) != 1:
            raise EngineReject("bad_param", "one order per request is modelled")
        ticket = orders[0]
        try:
            m = self._market_by_conid(int(ticket["conid"]))
            side = str(ticket["side"]).upper()
            qty = Decimal(str(ticket["quantity"]))
            price = Decimal(str(ticket["price"]))
            tif = str(ticket.get("tif", "DAY")).upper()
            if str(ticket.get("orderType")) != "LMT":
                raise EngineReject("bad_param", "only LMT orders are modelled")
        except (KeyError, InvalidOperation, ValueError):
            raise EngineReject("bad_param", "conid, side, quantity, price") from None
        cid = str(ticket.get("cOID") or uuid.uuid4().hex)
        if any(o.client_id == cid for o in self.engine.orders.values()):
            raise EngineReject("duplicate_order", cid)
        staged = {
            "symbol": m.symbol,
            "side": side,
            "qty": qty,
            "price": price,
            "tif": tif,
            "cid": cid,
        }
        if self.ask_to_confirm:
            reply_id = str(uuid.uuid4())
            self._pending[reply_id] = staged
            text = f'The following order "{side} {qty} {m.base} ARCA @ {price}" price exceeds \nthe Percentage constraint of 3%.\nAre you sure you want to submit this order?'
            return Response(
                200,
                [
                    {
                        "id": reply_id,
                        "message": [text],
                        "isSuppressed": False,
                        "messageIds": list(self.ask_to_confirm),
                    }
                ],
            )
        return self._submit(staged)

    def _reply(self, reply_id: str, request: Request) -> Response:
        staged = self._pending.pop(reply_id, None)
        if staged is None:
            return Response(
                400,
                {"error": f"reply id {reply_id} not found or already answered", "statusCode": 400},
            )
        if not (request.json() or {}).get("confirmed"):
            return Response(200, [{"error": "Order not confirmed"}])
        return self._submit(staged)

    def _submit(self, staged: dict[str, object]) -> Response:
        order = self.engine.place(
            str(staged["symbol"]),
            str(staged["side"]),  # type: ignore[arg-type]
            staged["qty"],  # type: ignore[arg-type]
            staged["price"],  # type: ignore[arg-type]
            str(staged["cid"]),
            time_in_force=str(staged["tif"]),
            reject_duplicate_open_id=False,
        )
        status = "PreSubmitted" if not self.engine.market_open else _STATUS[order.status]
        return Response(
            200, [{"order_id": str(order.order_id), "order_status": status, "encrypt_message": "1"}]
        )

    def _order_json(self, o: Order) -> dict[str, object]:
        m = self.engine.markets[o.symbol]
        conid = self.conids[m.base]
        status = _STATUS[o.status]
        if o.status == "NEW" and not self.engine.market_open:
            status = "PreSubmitted"
        average = (o.cum_quote / o.executed) if o.executed else Decimal(0)
        return {
            "acct": self.account_id,
            "conidex": str(conid),
            "conid": conid,
            "account": self.account_id,
            "orderId": o.order_id,
            "cashCcy": "USD",
            "sizeAndFills": f"{o.executed:f}/{o.qty:f}",
            "orderDesc": f"{'Bought' if o.side == 'BUY' else 'Sold'} {o.executed:f} Limit {o.price:f}, {o.time_in_force}",
            "description1": m.base,
            "ticker": m.base,
            "secType": "STK",
            "listingExchange": "ARCA",
            "remainingQuantity": o.remaining,
            "filledQuantity": o.executed,
            "totalSize": o.qty,
            "companyName": m.base,
            "status": status,
            "order_ccp_status": status,
            "avgPrice": f"{average:f}",
            "origOrderType": "LIMIT",
            "supportsTaxOpt": "1",
            "lastExecutionTime": _yymmddhhmmss(o.updated_ms),
            "orderType": "Limit",
            "price": f"{o.price:f}",
            "bgColor": "#FFFFFF",
            "fgColor": "#000000",
            "order_ref": o.client_id,
            "timeInForce": o.time_in_force,
            "lastExecutionTime_r": o.updated_ms,
            "side": o.side,
        }

    def _orders(self) -> Response:
        if not self.accounts_queried:
            return Response(400, {"error": "Please query /accounts first", "statusCode": 400})
        for o in list(self.engine.orders.values()):
            if o.is_open:
                self.engine.query(
                    order_id=o.order_id
                )  # the market may trade against resting orders
        return Response(
            200,
            {
                "orders": [self._order_json(o) for o in self.engine.orders.values()],
                "snapshot": True,
            },
        )

    def _trades(self) -> Response:
        out = []
        for o in self.engine.orders.values():
            m = self.engine.markets[o.symbol]
            for t in o.trades:
                sign = -1 if o.side == "BUY" else 1
                out.append(
                    {
                        "execution_id": f"0000e0d5.{t.trade_id:08x}.01.01",
                        "symbol": m.base,
                        "supports_tax_opt": "1",
                        "side": "B" if o.side == "BUY" else "S",
                        "order_description": f"{'Bot' if o.side == 'BUY' else 'Sold'} {t.qty:f} @ {t.price:f} on ARCA",
                        "trade_time": datetime.fromtimestamp(t.time_ms / 1000, tz=UTC).strftime(
                            "%Y%m%d-%H:%M:%S"
                        ),
                        "trade_time_r": t.time_ms,
                        "size": t.qty,
                        "price": f"{t.price:f}",
                        "order_ref": o.client_id,
                        "submitter": "keeper",
                        "exchange": "ARCA",
                        "commission": f"{t.commission:f}",
                        "net_amount": sign * t.quote_qty,
                        "account": self.account_id,
                        "accountCode": self.account_id,
                        "company_name": m.base,
                        "contract_description_1": m.base,
                        "sec_type": "STK",
                        "listing_exchange": "ARCA",
                        "conid": str(self.conids[m.base]),
                        "conidex": str(self.conids[m.base]),
                        "clearing_id": "IB",
                        "clearing_name": "IB",
                        "liquidation_trade": "0",
                        "is_event_trading": "0",
                    }
                )
        return Response(200, out)

    def _cancel(self, account: str, order_id: str) -> Response:
        if account != self.account_id:
            return Response(
                400, {"error": f"account {account} is not this session's", "statusCode": 400}
            )
        try:
            order = self.engine.cancel(order_id=int(order_id))
        except (EngineReject, ValueError):
            return Response(200, {"error": f"OrderID {order_id} doesn't exist or is not active"})
        m = self.engine.markets[order.symbol]
        return Response(
            200,
            {
                "msg": "Request was submitted",
                "order_id": order.order_id,
                "conid": self.conids[m.base],
                "account": account,
            },
        )

    # -- portfolio -----------------------------------------------------------------------------

    def _positions(self, account: str) -> Response:
        out = []
        for asset, (free, locked) in self.engine.balances().items():
            qty = free + locked
            if asset == "USD" or qty == 0:
                continue
            m = next(m for m in self.engine.markets.values() if m.base == asset)
            bids, asks = self.engine.book(m.symbol, 1)
            price = (bids[0][0] + asks[0][0]) / 2 if bids and asks else Decimal(0)
            out.append(
                {
                    "acctId": account,
                    "conid": self.conids[asset],
                    "contractDesc": asset,
                    "position": qty,
                    "mktPrice": price,
                    "mktValue": qty * price,
                    "currency": "USD",
                    "avgCost": price,
                    "avgPrice": price,
                    "realizedPnl": Decimal(0),
                    "unrealizedPnl": Decimal(0),
                    "assetClass": "STK",
                    "ticker": asset,
                    "listingExchange": "ARCA",
                    "multiplier": Decimal(0),
                    "expiry": None,
                }
            )
        return Response(200, out)

    def _ledger(self, account: str) -> Response:
        free, locked = self.engine.balance("USD")
        entry = {
            "commoditymarketvalue": Decimal(0),
            "futuremarketvalue": Decimal(0),
            "settledcash": free + locked,
            "exchangerate": 1,
            "sessionid": 1,
            "cashbalance": free + locked,
            "corporatebondsmarketvalue": Decimal(0),
            "warrantsmarketvalue": Decimal(0),
            "netliquidationvalue": free + locked,
            "interest": Decimal(0),
            "unrealizedpnl": Decimal(0),
            "stockmarketvalue": Decimal(0),
            "moneyfunds": Decimal(0),
            "currency": "USD",
            "realizedpnl": Decimal(0),
            "funds": Decimal(0),
            "acctcode": account,
            "issueroptionsmarketvalue": Decimal(0),
            "key": "LedgerList",
            "timestamp": self.engine.clock_ms() // 1000,
            "severity": 0,
        }
        return Response(200, {"USD": entry, "BASE": {**entry, "currency": "BASE"}})


def start_ibkr(engine: Engine, account_id: str = "DU1234567") -> LocalServer:
    """Start a Client Portal Gateway stand-in for `engine`; the API is under `<url>/v1/api`."""
    return LocalServer(IbkrFront(engine, account_id), name="ibkr").start()
