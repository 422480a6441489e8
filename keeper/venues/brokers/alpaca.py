"""Alpaca (Trading API v2 over httpx) as a keeper venue for US ETFs and stocks.

This module owns Alpaca's side of the `OrderVenue` contract: account cash and positions as
balances, the latest quote as a one-level book, whole-share (or fractional) sizing rules, limit
orders carrying the keeper's client id (`client_order_id`), lookup with
`GET /v2/orders:by_client_order_id`, cancel (204, then the caller reads the final state back) and
fills from `/v2/account/activities/FILL`. Alpaca answers 403 for insufficient buying power and
422 for invalid or duplicate orders; `_classify` turns those into refusals. Market hours come
from `MarketHours` (exchange_calendars), not from Alpaca's clock, so the executor's off-hours
policy is the same for every broker. Credentials come from the environment and are registered
as secrets; they travel only in request headers, which are never logged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from keeper import secrets
from keeper.errors import ConfigError, ExecutionReverted, KeeperError, NotAvailable, ReconcileError
from keeper.venues.brokers.http import BrokerHttp, HttpStatus
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

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"

_STATES = {
    "new": OrderState.ACKNOWLEDGED,
    "accepted": OrderState.ACKNOWLEDGED,
    "pending_new": OrderState.ACKNOWLEDGED,
    "accepted_for_bidding": OrderState.ACKNOWLEDGED,
    "calculated": OrderState.ACKNOWLEDGED,
    "pending_cancel": OrderState.ACKNOWLEDGED,
    "pending_replace": OrderState.ACKNOWLEDGED,
    "held": OrderState.ACKNOWLEDGED,
    "partially_filled": OrderState.PARTLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.CANCELLED,
    "done_for_day": OrderState.CANCELLED,
    "replaced": OrderState.CANCELLED,
    "stopped": OrderState.CANCELLED,
    "rejected": OrderState.FAILED,
    "suspended": OrderState.FAILED,
}


def _classify(status: int, body: Any, op: Op, line: str) -> KeeperError | None:
    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message", "")) if isinstance(body, dict) else str(body)
    if status == 403 and code == 40310000:
        return ExecutionReverted(line, reason=message or "insufficient buying power")
    if status == 403:
        return ConfigError(
            f"{line} (the key lacks trading permission, or the account is restricted)"
        )
    if status == 422 and "client_order_id must be unique" in message:
        return ReconcileError(line)  # an order with our id exists: look it up
    if status == 422 and op is Op.PLACE:
        return ExecutionReverted(line, reason=message)
    if status in (404, 422) and op is Op.CANCEL:
        return ReconcileError(line)  # gone or no longer cancelable: read its final state
    return None


class AlpacaVenue:
    """One Alpaca account. `base_url` for trading, `data_url` for quotes (the same for a local server)."""

    def __init__(
        self,
        *,
        key_id: str | None,
        secret_key: str | None,
        name: str = "alpaca",
        base_url: str = PAPER_URL,
        data_url: str = DATA_URL,
        hours: MarketHours | None = None,
        fractional: bool = False,
        timeout_s: float = 10.0,
    ):
        secrets.register(key_id)
        secrets.register(secret_key)
        self.name = name
        self.hours = hours or MarketHours("XNYS")
        self.fractional = fractional
        # Every Alpaca endpoint, quotes included, needs the keys: without them the venue is
        # read-only in the strict sense (dry run): it refuses every call before sending it.
        self.read_only = not (key_id and secret_key)
        headers = (
            {}
            if self.read_only
            else {"APCA-API-KEY-ID": str(key_id), "APCA-API-SECRET-KEY": str(secret_key)}
        )
        self._trading = BrokerHttp(
            name, base_url, headers=headers, timeout_s=timeout_s, classify=_classify
        )
        self._data = BrokerHttp(
            name, data_url, headers=headers, timeout_s=timeout_s, classify=_classify
        )

    @classmethod
    def from_env(
        cls,
        *,
        key_var: str = "APCA_API_KEY_ID",
        secret_var: str = "APCA_API_SECRET_KEY",
        **kwargs: Any,
    ) -> AlpacaVenue:
        purpose = f"venue {kwargs.get('name', 'alpaca')}"
        key_id = secrets.from_env(key_var, purpose=purpose)
        secret_key = secrets.from_env(secret_var, purpose=purpose)
        assert key_id is not None and secret_key is not None  # from_env raises when missing
        return cls(key_id=key_id, secret_key=secret_key, **kwargs)

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (trading and data APIs)."""
        return self._trading.requests + self._data.requests

    def _require_keys(self) -> None:
        if self.read_only:
            raise NotAvailable(
                f"{self.name}: every Alpaca call needs the API keys; this venue is read-only (dry run)"
            )

    async def close(self) -> None:
        await self._trading.close()
        await self._data.close()

    async def __aenter__(self) -> AlpacaVenue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reading -------------------------------------------------------------------------------

    async def rules(self, symbol: str) -> MarketRules:
        """Cent ticks (Reg NMS, prices >= $1); whole shares unless fractional trading is enabled."""
        step = Decimal("0.000000001") if self.fractional else Decimal(1)
        return MarketRules(symbol, symbol, "USD", tick=Decimal("0.01"), step=step, min_amount=step)

    async def taker_fee(self, symbol: str) -> Decimal:
        return ZERO  # commission-free; regulatory fees show up in account activities, not here

    async def is_open(self) -> bool:
        return self.hours.is_open()

    async def book(self, symbol: str, depth: int = 1) -> Book:
        self._require_keys()
        body = await self._data.request(
            "GET", f"/v2/stocks/{symbol}/quotes/latest", op=Op.READ, what=f"quote {symbol}"
        )
        q = body.get("quote") or {}
        bids = ((Decimal(q["bp"]), Decimal(q.get("bs", 0))),) if q.get("bp") else ()
        asks = ((Decimal(q["ap"]), Decimal(q.get("as", 0))),) if q.get("ap") else ()
        return Book(self.name, symbol, bids, asks)

    async def balances(self) -> list[Balance]:
        self._require_keys()
        account = await self._trading.request("GET", "/v2/account", op=Op.READ, what="account")
        positions = await self._trading.request(
            "GET", "/v2/positions", op=Op.READ, what="positions"
        )
        cash = Decimal(account["cash"])
        buying_power = Decimal(
            account.get("non_marginable_buying_power") or account["buying_power"]
        )
        free_cash = min(cash, buying_power)
        out = [Balance(self.name, "USD", free_cash, cash - free_cash)]
        for p in positions:
            qty = Decimal(p["qty"])
            available = Decimal(p.get("qty_available", p["qty"]))
            out.append(Balance(self.name, p["symbol"], available, qty - available))
        return out

    async def positions(self) -> list[Position]:
        self._require_keys()
        positions = await self._trading.request(
            "GET", "/v2/positions", op=Op.READ, what="positions"
        )
        account = await self._trading.request("GET", "/v2/account", op=Op.READ, what="account")
        out = [Position(self.name, "USD", Decimal(account["cash"]), Decimal(1), "USD")]
        for p in positions:
            out.append(
                Position(
                    self.name, p["symbol"], Decimal(p["qty"]), Decimal(p["current_price"]), "USD"
                )
            )
        return out

    # -- orders --------------------------------------------------------------------------------

    async def place(self, req: OrderRequest) -> OrderStatus:
        self._require_keys()
        body = {
            "symbol": req.symbol,
            "qty": format(req.amount, "f"),
            "side": req.side,
            "type": "limit",
            "time_in_force": req.time_in_force,
            "limit_price": format(req.limit_price, "f"),
            "client_order_id": req.client_id,
        }
        raw = await self._trading.request(
            "POST",
            "/v2/orders",
            op=Op.PLACE,
            what=f"place {req.side} {req.amount} {req.symbol} ({req.client_id})",
            body=body,
        )
        return self._status(raw)

    async def lookup(self, symbol: str, client_id: str) -> OrderStatus | None:
        self._require_keys()
        try:
            raw = await self._trading.request(
                "GET",
                "/v2/orders:by_client_order_id",
                op=Op.READ,
                what=f"look up {client_id}",
                params={"client_order_id": client_id},
                ok_statuses=(404,),
            )
        except HttpStatus:
            return None
        return self._status(raw)

    async def cancel(
        self, symbol: str, client_id: str, venue_order_id: str | None
    ) -> OrderStatus | None:
        self._require_keys()
        if venue_order_id is None:
            found = await self.lookup(symbol, client_id)
            if found is None:
                raise ReconcileError(f"{self.name}: cannot cancel {client_id}: not found")
            venue_order_id = found.venue_order_id
        await self._trading.request(
            "DELETE", f"/v2/orders/{venue_order_id}", op=Op.CANCEL, what=f"cancel {client_id}"
        )
        return None  # 204: accepted; the final state (with any last fills) is read back by lookup

    async def fills(self, symbol: str, venue_order_id: str, client_id: str = "") -> list[Fill]:
        self._require_keys()
        rows = await self._trading.request(
            "GET",
            "/v2/account/activities/FILL",
            op=Op.READ,
            what=f"fills of {venue_order_id}",
            params={"order_id": venue_order_id},
        )
        out = []
        for r in rows or []:
            if r.get("order_id") != venue_order_id:
                continue
            amount, price = Decimal(r["qty"]), Decimal(r["price"])
            out.append(Fill(str(r["id"]), amount, price, amount * price, None))
        return out

    def _status(self, raw: dict[str, Any]) -> OrderStatus:
        filled = Decimal(raw.get("filled_qty") or 0)
        average = raw.get("filled_avg_price")
        commission = Decimal(raw.get("commission") or 0)
        state = _STATES.get(str(raw.get("status")), OrderState.ACKNOWLEDGED)
        if state is OrderState.ACKNOWLEDGED and filled > 0:
            state = OrderState.PARTLY_FILLED
        return OrderStatus(
            client_id=str(raw.get("client_order_id")),
            venue_order_id=str(raw["id"]),
            state=state,
            amount=Decimal(raw.get("qty") or 0),
            filled=filled,
            cost=filled * Decimal(average) if average is not None else ZERO,
            limit_price=Decimal(raw["limit_price"]) if raw.get("limit_price") is not None else None,
            fees=(Fee("USD", commission),) if commission else (),
        )
