"""A centralized exchange as a keeper venue, through ccxt's async API.

This module owns the boundary with ccxt: building the exchange (credentials from the environment,
registered as secrets; optionally pointed at a local server), reading balances, books and market
rules, and the four order operations the executor needs (place, look up by client id, cancel,
read fills). Every ccxt number (a float) becomes a `Decimal` here, through `str`, and no float
leaves this module; every ccxt exception is translated here, once (`ccxt_errors.translate`).

Each method makes one attempt; the caller applies the retry policy (`retry.with_retries`) so that
the executor decides what a timeout means. A venue built without credentials is read-only: its
authenticated methods raise `NotAvailable` before any request leaves (the dry run relies on it).
It must not decide anything about a plan; that is `executor.py`.

`CcxtReader` (at the end) is the `VenueReader` the factory builds for `kind: cex` venues: it
turns this adapter's balances and tickers into the core's positions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
from ccxt.base import errors as cx

from keeper import secrets
from keeper.config.loader import LoadedConfig
from keeper.core.portfolio import Position as CorePosition
from keeper.core.spec import PortfolioSpec
from keeper.errors import ConfigError, ExecutionReverted, HaltError, KeeperError, NotAvailable
from keeper.venues.base import VenueReading
from keeper.venues.ccxt_errors import Op, translate
from keeper.venues.connect import build_adapter, venue_settings
from keeper.venues.reading import USD_UNITS, failed, position, run_sync
from keeper.venues.retry import RetryPolicy, Sleep, with_retries
from keeper.venues.types import (
    ZERO,
    Balance,
    Book,
    Fee,
    Fill,
    MarketRules,
    OrderRequest,
    OrderState,
    OrderStatus,
    Position,
    Ticker,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

SUPPORTED = ("binance", "coinbase", "kraken", "bybit", "okx")

# Options that keep ccxt's market loading to what a spot rebalancer needs (and that make Binance
# work against a local server: no margin or currency endpoints).
_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
        "defaultType": "spot",
    },
    "okx": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
    "bybit": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
    "kraken": {},
    "coinbase": {},
}


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int, str or None) as an exact `Decimal` of its printed form."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    return Decimal(str(value))


def _dec0(value: Any) -> Decimal:
    d = dec(value)
    return ZERO if d is None else d


def point_urls_at(urls: Any, base_url: str) -> Any:
    """ccxt's `urls['api']` with every host replaced by `base_url`, paths kept (local servers)."""
    if isinstance(urls, dict):
        return {k: point_urls_at(v, base_url) for k, v in urls.items()}
    if isinstance(urls, str):
        path = urlsplit(urls.replace("{hostname}", "host")).path
        return base_url.rstrip("/") + path
    return urls


class CcxtVenue:
    """One ccxt exchange account (or its public data only, when built without credentials)."""

    def __init__(
        self,
        exchange_id: str,
        *,
        name: str | None = None,
        api_key: str | None = None,
        secret: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        timeout_ms: int = 10_000,
        options: dict[str, Any] | None = None,
    ):
        if exchange_id not in SUPPORTED:
            raise ConfigError(
                f"venue {exchange_id!r}: not a supported exchange; use one of {', '.join(SUPPORTED)}"
            )
        self.exchange_id = exchange_id
        self.name = name or exchange_id
        for value in (api_key, secret, password):
            secrets.register(value)
        self.read_only = not (api_key and secret)
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {**_DEFAULT_OPTIONS.get(exchange_id, {}), **(options or {})},
        }
        if not self.read_only:
            config.update({"apiKey": api_key, "secret": secret})
            if password:
                config["password"] = password
        self.exchange = getattr(ccxt_async, exchange_id)(config)
        if base_url is not None:
            self.exchange.urls["api"] = point_urls_at(self.exchange.urls["api"], base_url)
            self.exchange.enableRateLimit = False  # a local server; its own 429s are the test
            self.exchange.timeout_on_exit = 0  # plain HTTP on loopback: no TLS teardown to wait for
        self._markets_loaded = False
        # Look orders up by scanning recent orders instead of by client id (set automatically for
        # exchanges whose ccxt fetch_order cannot take a client id).
        self.lookup_by_scan = False
        # HTTP requests this venue sent (a reader reports them as its round trips).
        self.requests = 0
        fetch = self.exchange.fetch

        async def counted_fetch(*args: Any, **kwargs: Any) -> Any:
            self.requests += 1
            return await fetch(*args, **kwargs)

        self.exchange.fetch = counted_fetch

    @classmethod
    def from_env(
        cls,
        exchange_id: str,
        *,
        name: str | None = None,
        key_var: str,
        secret_var: str,
        password_var: str | None = None,
        **kwargs: Any,
    ) -> CcxtVenue:
        """Credentials from environment variables (never from keeper.yaml), registered as secrets."""
        purpose = f"venue {name or exchange_id}"
        api_key = secrets.from_env(key_var, purpose=purpose)
        secret = secrets.from_env(secret_var, purpose=purpose)
        password = secrets.from_env(password_var, purpose=purpose) if password_var else None
        return cls(
            exchange_id, name=name, api_key=api_key, secret=secret, password=password, **kwargs
        )

    async def close(self) -> None:
        await self.exchange.close()

    async def __aenter__(self) -> CcxtVenue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _require_credentials(self, what: str) -> None:
        if self.read_only:
            raise NotAvailable(
                f"{self.name}: {what} needs API credentials; this venue is read-only (dry run)"
            )

    async def _call(self, op: Op, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except cx.BaseError as e:
            raise translate(
                e, venue=self.name, op=op, what=what, retry_after_s=self._retry_after()
            ) from e
        except (OSError, TimeoutError) as e:  # transport errors ccxt did not wrap
            raise translate(e, venue=self.name, op=op, what=what) from e

    def _retry_after(self) -> float | None:
        headers = self.exchange.last_response_headers or {}
        for key, value in headers.items():
            if key.lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    async def load(self) -> None:
        """Load markets (public); later calls use the cached rules."""
        if not self._markets_loaded:
            await self._call(Op.READ, "load markets", self.exchange.load_markets)
            self._markets_loaded = True

    @property
    def markets(self) -> dict[str, Any] | None:
        """ccxt's market table once loaded (public data; `adopt_markets` reuses it)."""
        return self.exchange.markets if self._markets_loaded else None

    def adopt_markets(self, markets: dict[str, Any]) -> None:
        """Use markets loaded by an earlier venue object of the same exchange: no reload request."""
        self.exchange.set_markets(markets)
        self._markets_loaded = True

    def _market(self, symbol: str) -> dict[str, Any]:
        try:
            return self.exchange.market(symbol)
        except cx.BadSymbol:
            known = sorted(self.exchange.symbols or [])[:8]
            raise ConfigError(
                f"{self.name}: no market {symbol!r}; known markets include {', '.join(known)}"
            ) from None

    # -- reading -------------------------------------------------------------------------------

    async def rules(self, symbol: str) -> MarketRules:
        """Tick, step, minimum amount and notional of `symbol`, from the venue's market data."""
        await self.load()
        m = self._market(symbol)
        precision = m.get("precision") or {}
        limits = m.get("limits") or {}
        tick = _step(precision.get("price"), self.exchange.precisionMode)
        step = _step(precision.get("amount"), self.exchange.precisionMode)
        return MarketRules(
            symbol=symbol,
            base=m["base"],
            quote=m["quote"],
            tick=tick,
            step=step,
            min_amount=_dec0((limits.get("amount") or {}).get("min")),
            max_amount=dec((limits.get("amount") or {}).get("max")),
            min_notional=_dec0((limits.get("cost") or {}).get("min")),
        )

    async def taker_fee(self, symbol: str) -> Decimal:
        await self.load()
        return _dec0(self._market(symbol).get("taker"))

    async def book(self, symbol: str, depth: int = 20) -> Book:
        await self.load()
        raw = await self._call(
            Op.READ, f"order book {symbol}", lambda: self.exchange.fetch_order_book(symbol, depth)
        )
        return Book(
            venue=self.name,
            symbol=symbol,
            bids=tuple((_dec0(p), _dec0(q)) for p, q, *_ in raw.get("bids", [])),
            asks=tuple((_dec0(p), _dec0(q)) for p, q, *_ in raw.get("asks", [])),
        )

    async def last_price(self, symbol: str) -> Decimal | None:
        await self.load()
        t = await self._call(
            Op.READ, f"ticker {symbol}", lambda: self.exchange.fetch_ticker(symbol)
        )
        return dec(t.get("last")) or dec(t.get("close"))

    def has_market(self, symbol: str) -> bool:
        return symbol in (self.exchange.markets or {})

    async def ticker(self, symbol: str) -> Ticker:
        """Bid, ask, last and the venue's timestamp of `symbol` (public)."""
        await self.load()
        t = await self._call(
            Op.READ, f"ticker {symbol}", lambda: self.exchange.fetch_ticker(symbol)
        )
        stamp = t.get("timestamp")
        return Ticker(
            symbol=symbol,
            bid=dec(t.get("bid")),
            ask=dec(t.get("ask")),
            last=dec(t.get("last")) or dec(t.get("close")),
            time_s=int(stamp) // 1000 if isinstance(stamp, int | float) else None,
        )

    async def balances(self) -> list[Balance]:
        """Every asset with a non-zero balance (authenticated)."""
        self._require_credentials("reading balances")
        raw = await self._call(Op.READ, "balances", self.exchange.fetch_balance)
        out = []
        for asset in sorted(raw.get("total") or {}):
            free = _dec0((raw.get("free") or {}).get(asset))
            used = _dec0((raw.get("used") or {}).get(asset))
            if free or used:
                out.append(Balance(self.name, asset, free, used))
        return out

    async def positions(self, quote: str) -> list[Position]:
        """Balances valued at the mid of ASSET/`quote` (the quote asset itself at 1)."""
        await self.load()
        positions = []
        for b in await self.balances():
            price: Decimal | None
            if b.asset == quote:
                price = Decimal(1)
            elif f"{b.asset}/{quote}" in (self.exchange.markets or {}):
                price = (await self.book(f"{b.asset}/{quote}", 5)).mid
            else:
                price = None
            positions.append(Position(self.name, b.asset, b.total, price, quote))
        return positions

    async def is_open(self) -> bool:
        """Crypto venues trade around the clock."""
        return True

    # -- orders --------------------------------------------------------------------------------

    async def place(self, req: OrderRequest) -> OrderStatus:
        """Send one limit order carrying `req.client_id`. One attempt; see `ccxt_errors` for errors."""
        self._require_credentials("placing orders")
        await self.load()
        raw = await self._call(
            Op.PLACE,
            f"place {req.side} {req.amount} {req.symbol} @ {req.limit_price} ({req.client_id})",
            lambda: self.exchange.create_order(
                req.symbol,
                "limit",
                req.side,
                str(req.amount),
                str(req.limit_price),
                {"clientOrderId": req.client_id, "timeInForce": req.time_in_force.upper()},
            ),
        )
        return self._status(
            raw, req.client_id, fallback_amount=req.amount, fallback_price=req.limit_price
        )

    async def lookup(self, symbol: str, client_id: str) -> OrderStatus | None:
        """The venue's view of the order with `client_id`, or None if the venue has no such order.

        Exchanges whose API looks orders up by client id (Binance, OKX, Bybit) are asked
        directly; for the others (or with `lookup_by_scan`) the recent open and closed orders of
        the symbol are scanned for the id.
        """
        self._require_credentials("looking up orders")
        await self.load()
        what = f"look up {client_id}"
        if not self.lookup_by_scan:
            try:
                raw = await self.exchange.fetch_order(None, symbol, {"clientOrderId": client_id})
            except (cx.OrderNotFound, cx.OrderNotCached):
                return None
            except (cx.NotSupported, cx.ArgumentsRequired):
                self.lookup_by_scan = True  # this exchange cannot: scan from now on
            except cx.BaseError as e:
                raise translate(
                    e, venue=self.name, op=Op.READ, what=what, retry_after_s=self._retry_after()
                ) from e
            except (OSError, TimeoutError) as e:
                raise translate(e, venue=self.name, op=Op.READ, what=what) from e
            else:
                return self._status(raw, client_id)
        for fetch in (self.exchange.fetch_open_orders, self.exchange.fetch_closed_orders):
            orders = await self._call(Op.READ, what, lambda f=fetch: f(symbol))
            for raw in orders:
                if raw.get("clientOrderId") == client_id:
                    return self._status(raw, client_id)
        return None

    async def cancel(
        self, symbol: str, client_id: str, venue_order_id: str | None
    ) -> OrderStatus | None:
        """Cancel the order; its state after the cancel when the venue says it (else None: look up)."""
        self._require_credentials("cancelling orders")
        await self.load()
        params = {} if venue_order_id else {"clientOrderId": client_id}
        raw = await self._call(
            Op.CANCEL,
            f"cancel {client_id}",
            lambda: self.exchange.cancel_order(venue_order_id, symbol, params),
        )
        status = self._status(raw, client_id)
        if status.state in (OrderState.ACKNOWLEDGED, OrderState.PARTLY_FILLED):
            return None  # the answer does not show the order closed; the caller looks it up
        return status

    async def fills(self, symbol: str, venue_order_id: str, client_id: str = "") -> list[Fill]:
        """Every execution of one order, with its fee (the source of fees for the journal)."""
        self._require_credentials("reading fills")
        await self.load()
        trades = await self._call(
            Op.READ,
            f"fills of {venue_order_id}",
            lambda: self.exchange.fetch_order_trades(venue_order_id, symbol),
        )
        out = []
        for t in trades:
            fee = t.get("fee")
            amount = _dec0(t.get("amount"))
            price = _dec0(t.get("price"))
            cost = dec(t.get("cost"))
            out.append(
                Fill(
                    trade_id=str(t.get("id")),
                    amount=amount,
                    price=price,
                    cost=cost if cost is not None else amount * price,
                    fee=Fee(fee["currency"], _dec0(fee.get("cost")))
                    if fee and fee.get("currency")
                    else None,
                )
            )
        return out

    def _status(
        self,
        raw: dict[str, Any],
        client_id: str,
        *,
        fallback_amount: Decimal | None = None,
        fallback_price: Decimal | None = None,
    ) -> OrderStatus:
        info = raw.get("info") if isinstance(raw.get("info"), dict) else {}
        # A cancel answer carries the cancel request's own id; the order's is origClientOrderId.
        answered_for = {
            raw.get("clientOrderId"),
            info.get("origClientOrderId"),
            info.get("clOrdId"),
        }
        if raw.get("clientOrderId") is not None and client_id not in answered_for:
            raise ExecutionReverted(
                f"{self.name}: the venue answered for client id {raw.get('clientOrderId')!r}, not {client_id!r}",
                reason="client id mismatch",
            )
        amount = dec(raw.get("amount")) or fallback_amount or ZERO
        filled = _dec0(raw.get("filled"))
        cost = dec(raw.get("cost"))
        if cost is None:
            average = dec(raw.get("average"))
            cost = filled * average if average is not None else ZERO
        status = raw.get("status")
        if status == "closed":
            state = OrderState.FILLED
        elif status in ("canceled", "cancelled", "expired"):
            state = OrderState.CANCELLED
        elif status == "rejected":
            state = OrderState.FAILED
        elif filled > 0 and filled >= amount:
            state = OrderState.FILLED
        elif filled > 0:
            state = OrderState.PARTLY_FILLED
        else:
            state = OrderState.ACKNOWLEDGED
        fees = []
        for fee in raw.get("fees") or ([raw["fee"]] if raw.get("fee") else []):
            if fee and fee.get("currency") and fee.get("cost") is not None:
                fees.append(Fee(fee["currency"], _dec0(fee["cost"])))
        return OrderStatus(
            client_id=client_id,
            venue_order_id=str(raw.get("id")),
            state=state,
            amount=amount,
            filled=filled,
            cost=cost,
            limit_price=dec(raw.get("price")) or fallback_price,
            fees=tuple(fees),
        )


def _step(precision: Any, mode: int) -> Decimal:
    """ccxt precision -> a step: TICK_SIZE mode gives the step itself, DECIMAL_PLACES a count."""
    value = dec(precision)
    if value is None:
        raise ConfigError("market has no precision data; cannot size orders safely")
    if mode == ccxt_async.TICK_SIZE:
        return value
    return Decimal(1).scaleb(-int(value))


# -- the venue reader ---------------------------------------------------------------------------


class CcxtReader:
    """The `VenueReader` of one `kind: cex` venue: its balances and tickers through ccxt.

    Built by `keeper.venues.factory` as `CcxtReader(venue, loaded_config)`. Credentials come
    from the environment (`keeper.venues.connect`; missing ones are a one-line `ConfigError`
    here, before any request) and `<PREFIX>BASE_URL` may point it at a testnet or a local server.

    One `read` = one balance request and one ticker request per priced market (in parallel),
    plus the market table on the first read only (kept for later reads). Each holding's price
    is the bid/ask mid of `REF/QUOTE` times the quote's USD price, timed by the venue's ticker:
    the quote itself is priced from a `QUOTE/USD` market when the exchange lists one, else a
    USD stablecoin is taken at $1 and the position's source says so. A failed balance read makes
    every holding of the venue a failed position (its assets are blocked, never counted as 0).
    """

    def __init__(
        self,
        venue: str,
        loaded: LoadedConfig,
        *,
        environ: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ):
        self.venue = venue
        self._settings = venue_settings(loaded, venue, need_credentials=True, environ=environ)
        self._holdings = tuple(h for h in loaded.spec.holdings if h.venue == venue)
        quote_asset = loaded.model.venues[venue].quote
        self._quote = next(
            (h.ref for h in self._holdings if h.asset == quote_asset), quote_asset or "USDT"
        )
        self._markets: dict[str, Any] | None = None
        self._retry = retry or RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=2.0)
        self._sleep = sleep
        self.round_trips = 0

    def read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        """Every holding of this venue at unix time `now` (seconds); see the class docstring."""
        return run_sync(lambda: self._read(spec, now))

    async def _read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        venue = build_adapter(self._settings, read_only=False)
        assert isinstance(venue, CcxtVenue)
        if self._markets is not None:
            venue.adopt_markets(self._markets)
        try:
            positions = await self._positions(venue, spec, now)
        finally:
            self._markets = venue.markets or self._markets
            self.round_trips += venue.requests
            trips = venue.requests
            await venue.close()
        return VenueReading(self.venue, positions, None, trips)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(
            call, self._retry, what=f"{self.venue}: {what}", sleep=self._sleep
        )

    async def _positions(
        self, venue: CcxtVenue, spec: PortfolioSpec, now: int
    ) -> tuple[CorePosition, ...]:
        try:
            await self._call("markets", venue.load)
            balances = await self._call("balances", venue.balances)
        except HaltError:
            raise
        except KeeperError as e:
            return failed(self._holdings, e.one_line())
        held = {b.asset: b.total for b in balances}
        symbols = {h.ref: self._symbol_for(venue, h.ref) for h in self._holdings}
        quote_usd_symbol = f"{self._quote}/USD" if venue.has_market(f"{self._quote}/USD") else None
        wanted = sorted({s for s in (*symbols.values(), quote_usd_symbol) if s})

        async def one(symbol: str) -> Ticker | str:
            try:
                return await self._call(f"ticker {symbol}", lambda: venue.ticker(symbol))
            except HaltError:
                raise
            except KeeperError as e:
                return e.one_line()

        tickers = dict(zip(wanted, await asyncio.gather(*(one(s) for s in wanted)), strict=True))
        quote_price = self._quote_price(tickers, quote_usd_symbol, now)
        out = []
        for h in self._holdings:
            if h.ref == self._quote:
                price, source, at = quote_price
            else:
                price, source, at = self._price(h.ref, symbols[h.ref], tickers, quote_price, now)
            out.append(
                position(
                    spec,
                    h,
                    quantity=held.get(h.ref, ZERO),
                    price_usd=price,
                    source=source,
                    price_time=at,
                    now=now,
                )
            )
        return tuple(out)

    def _symbol_for(self, venue: CcxtVenue, ref: str) -> str | None:
        if ref == self._quote:
            return None
        for symbol in (f"{ref}/{self._quote}", f"{ref}/USD"):
            if venue.has_market(symbol):
                return symbol
        return None

    def _quote_price(
        self, tickers: dict[str, Ticker | str], symbol: str | None, now: int
    ) -> tuple[Decimal | None, str, int | None]:
        if self._quote == "USD":
            return Decimal(1), "USD", now
        if symbol is not None:
            t = tickers[symbol]
            if isinstance(t, str):
                return None, f"{self.venue} {symbol}: {t}", None
            if t.price is None:
                return None, f"{self.venue} {symbol}: no bid, ask or last", None
            return t.price, f"{self.venue} {symbol} mid", t.time_s or now
        if self._quote in USD_UNITS:
            return (
                Decimal(1),
                f"{self._quote} taken at $1 ({self.venue} lists no {self._quote}/USD market)",
                now,
            )
        return None, f"no USD price for {self._quote} on {self.venue}", None

    def _price(
        self,
        ref: str,
        symbol: str | None,
        tickers: dict[str, Ticker | str],
        quote: tuple[Decimal | None, str, int | None],
        now: int,
    ) -> tuple[Decimal | None, str, int | None]:
        if symbol is None:
            return None, f"{self.venue} lists no {ref}/{self._quote} market", None
        t = tickers[symbol]
        if isinstance(t, str):
            return None, f"{self.venue} {symbol}: {t}", None
        if t.price is None:
            return None, f"{self.venue} {symbol}: no bid, ask or last", None
        at = t.time_s or now
        if symbol.endswith("/USD"):
            return t.price, f"{self.venue} {symbol} mid", at
        quote_usd, quote_source, quote_at = quote
        if quote_usd is None or quote_at is None:
            return None, f"{self.venue} {symbol}: {quote_source}", None
        source = f"{self.venue} {symbol} mid"
        if quote_usd != 1 or "taken at $1" in quote_source:
            source += f" x {quote_source}"
        return t.price * quote_usd, source, min(at, quote_at)
