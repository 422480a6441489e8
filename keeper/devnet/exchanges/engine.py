"""The matching engine behind the local exchange and broker servers (devnet and tests only).

This module owns one venue's state: markets with their trading rules, balances (free and locked),
a resting book of market-maker liquidity, our orders, their trades and fees, and the queues of
injected faults. The protocol front-ends (`binance.py`, `okx.py`, `alpaca.py`, `ibkr.py`) only
translate HTTP into calls here and results back into each venue's exact JSON shapes.

It must not know any wire format, and it never touches the network. All amounts are `Decimal`;
every quantity that moves between balances is quantized once, here, and the same number is
reported to the client, so a client that books exactly what it is told ends with exactly the
balances the engine holds.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Literal

Side = Literal["BUY", "SELL"]

ZERO = Decimal(0)

# Order statuses, named as Binance names them; the other front-ends map them to their own words.
NEW = "NEW"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
FILLED = "FILLED"
CANCELED = "CANCELED"
OPEN_STATUSES = frozenset({NEW, PARTIALLY_FILLED})


class EngineReject(Exception):
    """The engine refuses a request. `reason` is a stable word the front-end maps to its own code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MarketSpec:
    """One market and its trading rules (Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL filters)."""

    symbol: str  # unified "BASE/QUOTE"
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    base_precision: int = 8
    quote_precision: int = 8

    @property
    def venue_id(self) -> str:
        """The symbol without a separator, as Binance spells it ("BTCUSDT")."""
        return f"{self.base}{self.quote}"


@dataclass
class Trade:
    """One execution of one of our orders."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time_ms: int


@dataclass
class Order:
    """One of our orders, as the engine keeps it."""

    order_id: int
    client_id: str
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    time_in_force: str
    created_ms: int
    updated_ms: int
    status: str = NEW
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    locked: Decimal = ZERO  # what is still reserved for this order (quote for buys, base for sells)
    trades: list[Trade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed


@dataclass
class Fault:
    """One injected fault, consumed by the next request of its operation.

    kind:
      - "status": answer `status` with the front-end's error body for `reason` (nothing executed).
      - "drop_before": close the connection without an answer; nothing executed.
      - "drop_after": execute the request, then close the connection without an answer.
      - "delay_after": execute the request, then answer only after `delay_s` (the client times out).
    """

    kind: Literal["status", "drop_before", "drop_after", "delay_after"]
    status: int = 500
    reason: str = "server_error"
    retry_after_s: int | None = None
    delay_s: float = 0.0


@dataclass
class Faults:
    """Queues of faults and fill behaviour, consumed in order. Thread-safe through the engine lock."""

    by_op: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    # The next placed orders fill at most this fraction immediately (the rest rests on the book).
    fill_ratios: deque[Decimal] = field(default_factory=deque)
    # Each query of a resting order lets the market fill this fraction of what remains.
    fills_on_query: deque[Decimal] = field(default_factory=deque)
    # Each cancel first lets the market fill this fraction of what remains (a fill racing the cancel).
    fills_before_cancel: deque[Decimal] = field(default_factory=deque)

    def add(self, op: str, fault: Fault) -> None:
        self.by_op[op].append(fault)

    def pop(self, op: str) -> Fault | None:
        queue = self.by_op.get(op)
        if queue:
            return queue.popleft()
        return None

    def clear(self) -> None:
        self.by_op.clear()
        self.fill_ratios.clear()
        self.fills_on_query.clear()
        self.fills_before_cancel.clear()


def _now_ms() -> int:
    return int(time.time() * 1000)


class Engine:
    """A small, exact spot venue: balances, a resting market-maker book, our orders and trades."""

    def __init__(
        self,
        markets: list[MarketSpec],
        balances: dict[str, Decimal | str | int],
        books: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]],
        *,
        taker_fee: Decimal = Decimal("0.001"),
        maker_fee: Decimal = Decimal("0.001"),
        fees_in_quote: bool = False,
        clock_ms: Callable[[], int] = _now_ms,
    ):
        """`fees_in_quote`: brokers charge commission in cash on both sides; exchanges (the
        default, as Binance) charge a buyer in the base asset it receives."""
        self.lock = threading.RLock()
        self.markets = {m.symbol: m for m in markets}
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.fees_in_quote = fees_in_quote
        self.clock_ms = clock_ms
        self.faults = Faults()
        self.market_open = True  # brokers: outside hours orders are accepted but never fill
        self._initial = (dict(balances), {k: (list(b), list(a)) for k, (b, a) in books.items()})
        self.reset()

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state given at construction: balances, book, no orders, no faults."""
        balances, books = self._initial
        with self.lock:
            self.free: dict[str, Decimal] = defaultdict(
                Decimal, {k: Decimal(v) for k, v in balances.items()}
            )
            self.locked: dict[str, Decimal] = defaultdict(Decimal)
            self.bids: dict[str, list[list[Decimal]]] = {}
            self.asks: dict[str, list[list[Decimal]]] = {}
            for symbol, (bids, asks) in books.items():
                self.bids[symbol] = sorted(
                    ([Decimal(p), Decimal(q)] for p, q in bids), key=lambda level: -level[0]
                )
                self.asks[symbol] = sorted(
                    ([Decimal(p), Decimal(q)] for p, q in asks), key=lambda level: level[0]
                )
            self.orders: dict[int, Order] = {}
            self.trades: list[Trade] = []
            self._order_ids = itertools.count(1001)
            self._trade_ids = itertools.count(5001)
            self.faults.clear()
            self.market_open = True

    def market(self, symbol: str) -> MarketSpec:
        try:
            return self.markets[symbol]
        except KeyError:
            raise EngineReject("bad_symbol", symbol) from None

    def market_by_venue_id(self, venue_id: str) -> MarketSpec:
        for m in self.markets.values():
            if m.venue_id == venue_id or m.symbol == venue_id:
                return m
        raise EngineReject("bad_symbol", venue_id)

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """(free, locked) of `asset`."""
        with self.lock:
            return self.free[asset], self.locked[asset]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        with self.lock:
            assets = sorted(set(self.free) | set(self.locked))
            return {a: (self.free[a], self.locked[a]) for a in assets}

    def totals(self) -> dict[str, Decimal]:
        """free + locked per asset: the venue's view of what the account owns."""
        with self.lock:
            assets = set(self.free) | set(self.locked)
            return {
                a: self.free[a] + self.locked[a]
                for a in assets
                if self.free[a] + self.locked[a] != 0
            }

    def book(
        self, symbol: str, depth: int = 100
    ) -> tuple[list[list[Decimal]], list[list[Decimal]]]:
        """(bids, asks), best first, market-maker liquidity plus our own resting orders."""
        self.market(symbol)
        with self.lock:
            bids = [list(level) for level in self.bids[symbol]]
            asks = [list(level) for level in self.asks[symbol]]
            for o in self.orders.values():
                if o.symbol == symbol and o.is_open:
                    side = bids if o.side == "BUY" else asks
                    _add_level(side, o.price, o.remaining, descending=o.side == "BUY")
            return bids[:depth], asks[:depth]

    def set_book(
        self, symbol: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]]
    ) -> None:
        """Replace the market-maker liquidity of `symbol` (tests move the market with this)."""
        with self.lock:
            self.bids[symbol] = sorted(
                ([Decimal(p), Decimal(q)] for p, q in bids), key=lambda level: -level[0]
            )
            self.asks[symbol] = sorted(
                ([Decimal(p), Decimal(q)] for p, q in asks), key=lambda level: level[0]
            )

    # -- orders --------------------------------------------------------------------------------

    def place(
        self,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        client_id: str,
        *,
        time_in_force: str = "GTC",
        check_filters: bool = True,
        reject_duplicate_open_id: bool = True,
    ) -> Order:
        """A limit order: validated against the market's rules and balances, matched, the rest rests.

        Raises `EngineReject` with reason `filter_lot_size`, `filter_price`, `filter_notional`,
        `insufficient_balance`, `duplicate_order` or `bad_symbol`.
        """
        m = self.market(symbol)
        with self.lock:
            if check_filters:
                _check_filters(m, qty, price)
            if reject_duplicate_open_id and any(
                o.client_id == client_id and o.is_open for o in self.orders.values()
            ):
                raise EngineReject("duplicate_order", client_id)
            if side == "BUY":
                fee_margin = (
                    max(self.taker_fee, self.maker_fee) if self.fees_in_quote else Decimal(0)
                )
                need = _q(qty * price * (1 + fee_margin), m.quote_precision, ROUND_UP)
                asset = m.quote
            else:
                need = qty
                asset = m.base
            if self.free[asset] < need:
                raise EngineReject(
                    "insufficient_balance", f"{asset}: need {need}, free {self.free[asset]}"
                )
            self.free[asset] -= need
            self.locked[asset] += need
            now = self.clock_ms()
            order = Order(
                order_id=next(self._order_ids),
                client_id=client_id,
                symbol=symbol,
                side=side,
                price=price,
                qty=qty,
                time_in_force=time_in_force,
                created_ms=now,
                updated_ms=now,
                locked=need,
            )
            self.orders[order.order_id] = order
            if self.market_open:
                ratio = self.faults.fill_ratios.popleft() if self.faults.fill_ratios else Decimal(1)
                cap = _q_step(qty * ratio, m.step_size)
                self._take(order, cap)
            if order.time_in_force in ("IOC", "FOK") and order.is_open:
                self._finish(order, CANCELED)
            return order

    def get(
        self,
        symbol: str | None = None,
        *,
        order_id: int | None = None,
        client_id: str | None = None,
    ) -> Order | None:
        """The order with this id or client id (the most recent one for a reused client id)."""
        with self.lock:
            found: Order | None = None
            for o in self.orders.values():
                if symbol is not None and o.symbol != symbol:
                    continue
                if order_id is not None and o.order_id != order_id:
                    continue
                if client_id is not None and o.client_id != client_id:
                    continue
                if found is None or o.order_id > found.order_id:
                    found = o
            return found

    def query(
        self,
        symbol: str | None = None,
        *,
        order_id: int | None = None,
        client_id: str | None = None,
    ) -> Order | None:
        """`get`, and the market may fill some of a resting order first (`faults.fills_on_query`)."""
        with self.lock:
            order = self.get(symbol, order_id=order_id, client_id=client_id)
            if (
                order is not None
                and order.is_open
                and self.faults.fills_on_query
                and self.market_open
            ):
                self._maker_fill(order, self.faults.fills_on_query.popleft())
            return order

    def cancel(
        self,
        symbol: str | None = None,
        *,
        order_id: int | None = None,
        client_id: str | None = None,
    ) -> Order:
        """Cancel an open order. Raises `EngineReject("unknown_order")` if none is open."""
        with self.lock:
            order = self.get(symbol, order_id=order_id, client_id=client_id)
            if (
                order is not None
                and order.is_open
                and self.faults.fills_before_cancel
                and self.market_open
            ):
                self._maker_fill(order, self.faults.fills_before_cancel.popleft())
            if order is None or not order.is_open:
                raise EngineReject("unknown_order", str(order_id or client_id))
            self._finish(order, CANCELED)
            return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.is_open and (symbol is None or o.symbol == symbol)
            ]

    def order_trades(self, symbol: str, order_id: int | None = None) -> list[Trade]:
        with self.lock:
            return [
                t
                for t in self.trades
                if t.symbol == symbol and (order_id is None or t.order_id == order_id)
            ]

    def cross_resting(self, symbol: str, ratio: Decimal) -> None:
        """The market trades against our resting orders on `symbol`: each fills `ratio` of what remains."""
        with self.lock:
            for o in list(self.orders.values()):
                if o.symbol == symbol and o.is_open:
                    self._maker_fill(o, ratio)

    def open_market(self) -> None:
        """Brokers: the session opens; resting orders match against the book."""
        with self.lock:
            self.market_open = True
            for o in sorted(self.orders.values(), key=lambda o: o.order_id):
                if o.is_open:
                    self._take(o, o.remaining)

    # -- internals -----------------------------------------------------------------------------

    def _take(self, order: Order, cap: Decimal) -> None:
        """Match `order` as taker against market-maker liquidity, up to `cap` base units."""
        m = self.markets[order.symbol]
        levels = self.asks[order.symbol] if order.side == "BUY" else self.bids[order.symbol]
        left = min(cap, order.remaining)
        while left > 0 and levels:
            price, available = levels[0]
            crosses = price <= order.price if order.side == "BUY" else price >= order.price
            if not crosses:
                break
            qty = _q_step(min(left, available), m.step_size)
            if qty <= 0:
                break
            self._fill(order, price, qty, is_maker=False)
            levels[0][1] -= qty
            if levels[0][1] <= 0:
                levels.pop(0)
            left -= qty

    def _maker_fill(self, order: Order, ratio: Decimal) -> None:
        m = self.markets[order.symbol]
        qty = _q_step(order.remaining * ratio, m.step_size)
        if qty > 0:
            self._fill(order, order.price, qty, is_maker=True)

    def _fill(self, order: Order, price: Decimal, qty: Decimal, *, is_maker: bool) -> None:
        m = self.markets[order.symbol]
        rate = self.maker_fee if is_maker else self.taker_fee
        quote_qty = _q(qty * price, m.quote_precision, ROUND_HALF_EVEN)
        if order.side == "BUY" and self.fees_in_quote:
            # Pay quote and the commission (in quote) from this order's reservation.
            commission = _q(quote_qty * rate, m.quote_precision, ROUND_HALF_EVEN)
            commission_asset = m.quote
            order.locked -= quote_qty + commission
            self.locked[m.quote] -= quote_qty + commission
            self.free[m.base] += qty
        elif order.side == "BUY":
            # Pay quote from this order's reservation; receive base less the commission (in base).
            commission = _q(qty * rate, m.base_precision, ROUND_HALF_EVEN)
            commission_asset = m.base
            order.locked -= quote_qty
            self.locked[m.quote] -= quote_qty
            self.free[m.base] += qty - commission
        else:
            commission = _q(quote_qty * rate, m.quote_precision, ROUND_HALF_EVEN)
            commission_asset = m.quote
            order.locked -= qty
            self.locked[m.base] -= qty
            self.free[m.quote] += quote_qty - commission
        now = self.clock_ms()
        trade = Trade(
            trade_id=next(self._trade_ids),
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            quote_qty=quote_qty,
            commission=commission,
            commission_asset=commission_asset,
            is_maker=is_maker,
            time_ms=now,
        )
        order.trades.append(trade)
        self.trades.append(trade)
        order.executed += qty
        order.cum_quote += quote_qty
        order.updated_ms = now
        if order.remaining <= 0:
            self._finish(order, FILLED)
        else:
            order.status = PARTIALLY_FILLED

    def _finish(self, order: Order, status: str) -> None:
        """Close `order` and give back whatever it still had reserved."""
        m = self.markets[order.symbol]
        asset = m.quote if order.side == "BUY" else m.base
        self.locked[asset] -= order.locked
        self.free[asset] += order.locked
        order.locked = ZERO
        order.status = status
        order.updated_ms = self.clock_ms()


def _check_filters(m: MarketSpec, qty: Decimal, price: Decimal) -> None:
    if price <= 0 or price % m.tick_size != 0:
        raise EngineReject("filter_price", f"price {price} is not a multiple of tick {m.tick_size}")
    if qty < m.min_qty or qty > m.max_qty or qty % m.step_size != 0:
        raise EngineReject(
            "filter_lot_size", f"quantity {qty} (min {m.min_qty}, step {m.step_size})"
        )
    if qty * price < m.min_notional:
        raise EngineReject("filter_notional", f"notional {qty * price} below {m.min_notional}")


def _q(value: Decimal, places: int, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _q_step(value: Decimal, step: Decimal) -> Decimal:
    if value <= 0:
        return ZERO
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def _add_level(
    levels: list[list[Decimal]], price: Decimal, qty: Decimal, *, descending: bool
) -> None:
    for level in levels:
        if level[0] == price:
            level[1] += qty
            return
    levels.append([price, qty])
    levels.sort(key=lambda level: -level[0] if descending else level[0])


def fmt(value: Decimal, places: int = 8) -> str:
    """A decimal as a fixed-point string with `places` decimals, as Binance prints numbers."""
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"
