"""Interactive Brokers (Client Portal Web API through the CP Gateway, over httpx) as a keeper venue.

This module owns IBKR's side of the `OrderVenue` contract and its session rules:

- The gateway holds the login; the keeper sends no credentials. Before anything else it checks
  `/iserver/auth/status`: a logged-out gateway is a `ConfigError` that says where to log in; a
  connected but not yet brokerage session is completed with `/iserver/auth/ssodh/init`; then
  `/iserver/accounts` is read once (IBKR requires it before orders).
- Orders carry the keeper's client id as `cOID` and are found again by `order_ref` in
  `/iserver/account/orders`. A submission may come back as an order reply message; only message
  ids on the configured allowlist are confirmed (`/iserver/reply/{id}`), anything else is
  declined and the leg is refused with the broker's own words: warnings are never clicked away
  blindly.
- Quotes come from `/iserver/marketdata/snapshot` (fields 84 bid, 86 ask, 88/85 sizes), asked
  again while the gateway warms the stream; fills and commissions from `/iserver/account/trades`.

The gateway serves self-signed TLS on localhost; `verify_tls` defaults to False only for a
localhost URL. Market hours come from `MarketHours` (exchange_calendars).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from keeper.errors import ConfigError, ExecutionReverted, KeeperError, NotAvailable, ReconcileError
from keeper.venues.brokers.http import BrokerHttp
from keeper.venues.hours import MarketHours
from keeper.venues.types import (
    ZERO,
    Balance,
    Book,
    Fee,
    Fill,
    MarketRules,
    Op,
    OrderRequest,
    OrderState,
    OrderStatus,
    Position,
)

GATEWAY_URL = "https://localhost:5000/v1/api"

_STATES = {
    "PendingSubmit": OrderState.ACKNOWLEDGED,
    "PreSubmitted": OrderState.ACKNOWLEDGED,
    "Submitted": OrderState.ACKNOWLEDGED,
    "PendingCancel": OrderState.ACKNOWLEDGED,
    "Filled": OrderState.FILLED,
    "Cancelled": OrderState.CANCELLED,
    "ApiCancelled": OrderState.CANCELLED,
    "Inactive": OrderState.FAILED,
}


def _classify(status: int, body: Any, op: Op, line: str) -> KeeperError | None:
    if status in (400, 404) and op is Op.CANCEL:
        return ReconcileError(line)
    if status == 400 and op is Op.PLACE:
        return ExecutionReverted(
            line, reason=str(body.get("error") if isinstance(body, dict) else body)
        )
    return None


class IbkrVenue:
    """One IBKR account behind a Client Portal Gateway."""

    def __init__(
        self,
        *,
        base_url: str = GATEWAY_URL,
        account_id: str | None = None,
        name: str = "ibkr",
        hours: MarketHours | None = None,
        confirm_message_ids: tuple[str, ...] = (),
        commission_rate: Decimal = Decimal("0.0005"),
        conids: dict[str, int] | None = None,
        verify_tls: bool | None = None,
        timeout_s: float = 10.0,
        snapshot_attempts: int = 3,
        sleep: Any = asyncio.sleep,
        read_only: bool = False,
    ):
        """`read_only` (dry run): every call would ride the gateway's logged-in session, so a
        read-only venue makes none; it raises `NotAvailable` before any request leaves."""
        host = urlsplit(base_url).hostname or ""
        if verify_tls is None:
            verify_tls = host not in ("localhost", "127.0.0.1")
        self.name = name
        self.base_url = base_url
        self.account_id = account_id
        self.hours = hours or MarketHours("XNYS")
        self.confirm_message_ids = frozenset(confirm_message_ids)
        self.commission_rate = commission_rate
        self._conids: dict[str, int] = dict(conids or {})
        self._symbols_by_conid: dict[int, str] = {v: k for k, v in self._conids.items()}
        self._snapshot_attempts = snapshot_attempts
        self._sleep = sleep
        self._ready = False
        self.read_only = read_only
        self._http = BrokerHttp(
            name,
            base_url,
            headers={"User-Agent": "keeper"},
            timeout_s=timeout_s,
            verify=verify_tls,
            classify=_classify,
        )

    @property
    def requests(self) -> int:
        """HTTP requests sent to the gateway so far."""
        return self._http.requests

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> IbkrVenue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- session -------------------------------------------------------------------------------

    async def session(self) -> str:
        """Make sure the gateway has a brokerage session and an account; return the account id."""
        if self.read_only:
            raise NotAvailable(
                f"{self.name}: read-only (dry run): no call through the gateway's session"
            )
        if self._ready and self.account_id:
            return self.account_id
        status = await self._http.request(
            "GET", "/iserver/auth/status", op=Op.READ, what="session status"
        )
        if not status.get("authenticated"):
            if not status.get("connected"):
                gateway = self.base_url.split("/v1/")[0]
                raise ConfigError(
                    f"{self.name}: the Client Portal Gateway is not logged in; open {gateway} in a browser and log in"
                )
            await self._http.request(
                "POST",
                "/iserver/auth/ssodh/init",
                op=Op.READ,
                what="open brokerage session",
                body={"publish": True, "compete": True},
            )
            status = await self._http.request(
                "GET", "/iserver/auth/status", op=Op.READ, what="session status"
            )
            if not status.get("authenticated"):
                raise ConfigError(
                    f"{self.name}: the gateway did not open a brokerage session ({status.get('message') or status.get('fail') or 'no reason given'})"
                )
        accounts = await self._http.request("GET", "/iserver/accounts", op=Op.READ, what="accounts")
        known = list(accounts.get("accounts") or [])
        if self.account_id is None:
            self.account_id = accounts.get("selectedAccount") or (known[0] if known else None)
        if self.account_id not in known:
            raise ConfigError(
                f"{self.name}: account {self.account_id!r} is not in this session; it has {', '.join(known) or 'none'}"
            )
        self._ready = True
        return self.account_id  # type: ignore[return-value]

    async def conid(self, symbol: str) -> int:
        if symbol not in self._conids:
            await self.session()
            rows = await self._http.request(
                "GET",
                "/iserver/secdef/search",
                op=Op.READ,
                what=f"contract {symbol}",
                params={"symbol": symbol},
            )
            for row in rows or []:
                if row.get("symbol") == symbol and any(
                    s.get("secType") == "STK" for s in row.get("sections") or []
                ):
                    self._conids[symbol] = int(row["conid"])
                    self._symbols_by_conid[int(row["conid"])] = symbol
                    break
            else:
                raise ConfigError(
                    f"{self.name}: no stock contract for {symbol!r}; set its conid in keeper.yaml"
                )
        return self._conids[symbol]

    # -- reading -------------------------------------------------------------------------------

    async def rules(self, symbol: str) -> MarketRules:
        if not self.read_only:
            await self.conid(symbol)  # an unknown symbol fails here, before any order
        return MarketRules(
            symbol, symbol, "USD", tick=Decimal("0.01"), step=Decimal(1), min_amount=Decimal(1)
        )

    async def taker_fee(self, symbol: str) -> Decimal:
        return self.commission_rate

    async def is_open(self) -> bool:
        return self.hours.is_open()

    async def book(self, symbol: str, depth: int = 1) -> Book:
        await self.session()
        conid = await self.conid(symbol)
        for attempt in range(self._snapshot_attempts):
            rows = await self._http.request(
                "GET",
                "/iserver/marketdata/snapshot",
                op=Op.READ,
                what=f"quote {symbol}",
                params={"conids": str(conid), "fields": "31,84,85,86,88"},
            )
            row = next((r for r in rows or [] if int(r.get("conid", 0)) == conid), {})
            if "84" in row or "86" in row:
                bids = ((Decimal(row["84"]), Decimal(row.get("88") or 0)),) if row.get("84") else ()
                asks = ((Decimal(row["86"]), Decimal(row.get("85") or 0)),) if row.get("86") else ()
                return Book(self.name, symbol, bids, asks)
            if attempt + 1 < self._snapshot_attempts:
                await self._sleep(
                    0.2
                )  # the gateway answers empty until its market data stream is warm
        return Book(self.name, symbol, (), ())

    async def _orders(self) -> list[dict[str, Any]]:
        account = await self.session()
        body = await self._http.request(
            "GET",
            "/iserver/account/orders",
            op=Op.READ,
            what="orders",
            params={"force": "true", "accountId": account},
        )
        return list(body.get("orders") or [])

    async def balances(self) -> list[Balance]:
        account = await self.session()
        ledger = await self._http.request(
            "GET", f"/portfolio/{account}/ledger", op=Op.READ, what="ledger"
        )
        cash = Decimal(ledger["USD"]["cashbalance"])
        held = sum(
            (
                Decimal(o["remainingQuantity"]) * Decimal(o["price"])
                for o in await self._orders()
                if o.get("side") == "BUY"
                and _STATES.get(o.get("status", "")) is OrderState.ACKNOWLEDGED
            ),
            ZERO,
        )
        out = [Balance(self.name, "USD", cash - held, held)]
        for p in await self._positions_raw():
            out.append(Balance(self.name, p["ticker"], Decimal(p["position"]), ZERO))
        return out

    async def _positions_raw(self) -> list[dict[str, Any]]:
        account = await self.session()
        await self._http.request(
            "GET", "/portfolio/accounts", op=Op.READ, what="portfolio accounts"
        )
        return list(
            await self._http.request(
                "GET", f"/portfolio/{account}/positions/0", op=Op.READ, what="positions"
            )
            or []
        )

    async def positions(self) -> list[Position]:
        account = await self.session()
        ledger = await self._http.request(
            "GET", f"/portfolio/{account}/ledger", op=Op.READ, what="ledger"
        )
        out = [Position(self.name, "USD", Decimal(ledger["USD"]["cashbalance"]), Decimal(1), "USD")]
        for p in await self._positions_raw():
            out.append(
                Position(
                    self.name,
                    p["ticker"],
                    Decimal(p["position"]),
                    Decimal(p["mktPrice"]),
                    p.get("currency", "USD"),
                )
            )
        return out

    # -- orders --------------------------------------------------------------------------------

    async def place(self, req: OrderRequest) -> OrderStatus:
        account = await self.session()
        ticket = {
            "conid": await self.conid(req.symbol),
            "orderType": "LMT",
            "side": req.side.upper(),
            "tif": req.time_in_force.upper(),
            "quantity": req.amount,
            "price": req.limit_price,
            "cOID": req.client_id,
        }
        what = f"place {req.side} {req.amount} {req.symbol} ({req.client_id})"
        answer = await self._http.request(
            "POST",
            f"/iserver/account/{account}/orders",
            op=Op.PLACE,
            what=what,
            body={"orders": [ticket]},
        )
        for _ in range(5):  # each confirmation may bring the next question
            item = (answer or [{}])[0] if isinstance(answer, list) else answer
            if "order_id" in item:
                found = await self.lookup(req.symbol, req.client_id)
                if found is None:
                    raise ReconcileError(
                        f"{self.name}: {req.client_id} acknowledged as {item['order_id']} but not listed"
                    )
                return found
            if "error" in item:
                text = str(item["error"])
                if "already registered" in text:
                    raise ReconcileError(f"{self.name}: {what}: {text}")
                raise ExecutionReverted(f"{self.name}: {what}: {text}", reason=text)
            if "id" in item and "message" in item:
                ids = set(item.get("messageIds") or [])
                text = " ".join(" ".join(str(m) for m in item["message"]).split())
                confirm = bool(ids) and ids <= self.confirm_message_ids
                answer = await self._http.request(
                    "POST",
                    f"/iserver/reply/{item['id']}",
                    op=Op.PLACE,
                    what=f"{'confirm' if confirm else 'decline'} {req.client_id}",
                    body={"confirmed": confirm},
                )
                if not confirm:
                    raise ExecutionReverted(
                        f"{self.name}: {what}: the broker asked to confirm {sorted(ids)} ({text}); not on the allowlist, declined",
                        reason=text,
                    )
                continue
            raise ReconcileError(f"{self.name}: {what}: unrecognised answer {item!r}")
        raise ReconcileError(f"{self.name}: {what}: too many confirmation rounds")

    async def lookup(self, symbol: str, client_id: str) -> OrderStatus | None:
        for o in await self._orders():
            if o.get("order_ref") == client_id:
                return _status(o)
        return None

    async def cancel(
        self, symbol: str, client_id: str, venue_order_id: str | None
    ) -> OrderStatus | None:
        account = await self.session()
        if venue_order_id is None:
            found = await self.lookup(symbol, client_id)
            if found is None:
                raise ReconcileError(f"{self.name}: cannot cancel {client_id}: not found")
            venue_order_id = found.venue_order_id
        answer = await self._http.request(
            "DELETE",
            f"/iserver/account/{account}/order/{venue_order_id}",
            op=Op.CANCEL,
            what=f"cancel {client_id}",
        )
        if isinstance(answer, dict) and "error" in answer:
            raise ReconcileError(f"{self.name}: cancel {client_id}: {answer['error']}")
        return None  # "Request was submitted": the final state is read back by lookup

    async def fills(self, symbol: str, venue_order_id: str, client_id: str = "") -> list[Fill]:
        await self.session()
        rows = await self._http.request(
            "GET", "/iserver/account/trades", op=Op.READ, what=f"fills of {client_id}"
        )
        out = []
        for r in rows or []:
            if r.get("order_ref") != client_id:
                continue
            amount, price = Decimal(r["size"]), Decimal(r["price"])
            commission = Decimal(r.get("commission") or 0)
            out.append(
                Fill(
                    str(r["execution_id"]),
                    amount,
                    price,
                    amount * price,
                    Fee("USD", commission) if commission else None,
                )
            )
        return out


def _status(o: dict[str, Any]) -> OrderStatus:
    filled = Decimal(o.get("filledQuantity") or 0)
    total = Decimal(o.get("totalSize") or 0)
    state = _STATES.get(str(o.get("status")), OrderState.ACKNOWLEDGED)
    if state is OrderState.ACKNOWLEDGED and filled > 0:
        state = OrderState.PARTLY_FILLED
    average = Decimal(o.get("avgPrice") or 0)
    return OrderStatus(
        client_id=str(o.get("order_ref")),
        venue_order_id=str(o["orderId"]),
        state=state,
        amount=total,
        filled=filled,
        cost=filled * average,
        limit_price=Decimal(o["price"]) if o.get("price") else None,
    )
