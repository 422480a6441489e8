"""Plain values at the boundary of the exchange and broker adapters.

This module owns the small, documented types that `cex.py` and `brokers/*` return and accept:
balances, books, market rules, order requests, the venue's view of an order, fills. They are
frozen dataclasses of `str`, `int` and `Decimal`; nothing here is a float and nothing does I/O.
Amounts are `Decimal` numbers of the base unit (tokens, shares) because exchanges size orders in
steps of the base unit (`MarketRules.step`), not in raw integer units; prices and fiat are
`Decimal` quote units. The lead maps these onto the core portfolio types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Side = Literal["buy", "sell"]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset on one venue: `free` can be spent now, `used` is held by open orders."""

    venue: str
    asset: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


@dataclass(frozen=True, slots=True)
class Position:
    """A holding on a venue, valued at the venue's price (brokers report it; CEX: balance x mid)."""

    venue: str
    asset: str
    quantity: Decimal
    price: Decimal | None  # quote units per unit, None when the venue has no market for it
    currency: str


@dataclass(frozen=True, slots=True)
class Book:
    """The top of a venue's order book: levels are (price, quantity), best first."""

    venue: str
    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2


@dataclass(frozen=True, slots=True)
class Ticker:
    """A venue's price summary for one symbol, quote units; `time_s` is when the venue says it
    was true (unix seconds), None when the venue does not say."""

    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    time_s: int | None

    @property
    def price(self) -> Decimal | None:
        """The bid/ask mid when both sides are quoted (a last trade can be old), else the last."""
        if self.bid and self.ask and self.bid > 0 and self.ask > 0:
            return (self.bid + self.ask) / 2
        return self.last if self.last and self.last > 0 else None


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What a venue accepts for one symbol: price tick, amount step, minimum size and notional."""

    symbol: str
    base: str
    quote: str
    tick: Decimal  # prices are multiples of this
    step: Decimal  # amounts are multiples of this
    min_amount: Decimal = ZERO
    max_amount: Decimal | None = None
    min_notional: Decimal = ZERO  # amount x price, quote units


class Op(StrEnum):
    """What kind of venue call failed: decides whether an unknown outcome is retried or reconciled."""

    READ = "read"  # no side effect: retry on trouble
    PLACE = "place"  # may have executed: look it up by client id before anything else
    CANCEL = "cancel"  # may have executed: read the order's final state back


class OrderState(StrEnum):
    """Where one order (or one leg) is. Terminal: filled, cancelled, failed."""

    PLANNED = "planned"  # decided and journaled, not sent
    SENT = "sent"  # the request left; the outcome is unknown until the venue answers or a lookup
    ACKNOWLEDGED = "acknowledged"  # the venue holds it, nothing filled yet
    PARTLY_FILLED = "partly_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"  # closed by us or the venue, possibly after a partial fill
    FAILED = "failed"  # refused or abandoned; the reason says why

    @property
    def terminal(self) -> bool:
        return self in (OrderState.FILLED, OrderState.CANCELLED, OrderState.FAILED)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One limit order to send. `client_id` is deterministic (see `legs.client_order_id`)."""

    venue: str
    symbol: str
    side: Side
    amount: Decimal  # base units, already a multiple of the market's step
    limit_price: Decimal  # quote units, already a multiple of the market's tick
    client_id: str
    time_in_force: str = "gtc"  # "gtc" for exchanges; "day" for brokers


@dataclass(frozen=True, slots=True)
class Fee:
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: `amount` base at `price`, `cost` quote units, and the fee charged for it."""

    trade_id: str
    amount: Decimal
    price: Decimal
    cost: Decimal
    fee: Fee | None


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """The venue's view of one order, read back from it."""

    client_id: str
    venue_order_id: str
    state: OrderState
    amount: Decimal
    filled: Decimal
    cost: Decimal  # quote units spent (buy) or received (sell), before fees
    limit_price: Decimal | None = None
    fees: tuple[Fee, ...] = field(default_factory=tuple)  # when the venue reports them on the order

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled
