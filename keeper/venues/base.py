"""The venue interfaces: how the keeper reads balances and places orders, whatever the venue.

Two Protocols, implemented by the adapters of later issues and by `keeper.venues.static`:

- `VenueReader`: one venue's holdings -> `VenueReading` (positions + block + round trips). The
  on-chain reader (keeper.chain) reads every holding of a chain with ONE Multicall3 call; the
  ccxt and broker adapters read one account; the static reader reads a file.
- `OrderVenue`: place, look up and cancel one order, identified by the keeper's own
  `client_id` (journaled before sending, so a crash can never double-send).

Contract for readers:
- return exactly one `Position` per declared holding of the venue (`spec.holdings` with
  `venue == reader.venue`); a holding that could not be read is `Position.failed(...)`, a price
  that is missing or stale is left to `Position.read(...)` to mark unpriced;
- translate third-party errors at the boundary (`TemporaryError` to retry, `ConfigError` when a
  human must act) with `raise ... from e`; never put secrets in messages;
- build readers with `Factory(venue_name, loaded_config)` (see `keeper.venues.factory`).

`read_snapshot` calls a list of readers and assembles one `Snapshot`, filling any holding a
reader forgot with a failed position, so nothing is ever silently counted as zero.

This module imports only the core types; it does no I/O itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import PortfolioSpec


@dataclass(frozen=True, slots=True)
class VenueReading:
    """What one reader saw. `block` is the chain block read at (None off-chain); `round_trips`
    counts network requests the read took (the chain reader's target: one per chain)."""

    venue: str
    positions: tuple[Position, ...]
    block: int | None = None
    round_trips: int = 0


@runtime_checkable
class VenueReader(Protocol):
    """Reads one venue's holdings."""

    venue: str

    def read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        """Every holding of `spec` on `self.venue`, priced, at unix time `now` (seconds)."""
        ...


class OrderStatus(str, Enum):
    OPEN = "open"
    PARTIAL = "partial"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # the venue does not know the id (yet): reconcile before acting again


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One leg to place. Amounts are raw units; `min_buy_raw` comes from the slippage tolerance.
    `sell_symbol`/`buy_symbol` are the venue's names (a holding's `ref`)."""

    client_id: str
    venue: str
    sell_asset: str
    sell_symbol: str
    sell_raw: int
    sell_decimals: int
    buy_asset: str
    buy_symbol: str
    min_buy_raw: int
    buy_decimals: int
    limit: bool = True  # a limit order at the worst accepted price; False: market order
    notional_usd: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderState:
    """What the venue says about an order, in raw units actually filled so far."""

    client_id: str
    status: OrderStatus
    venue_order_id: str | None = None
    sold_raw: int = 0
    bought_raw: int = 0
    fee_usd: Decimal | None = None
    reason: str | None = None


@runtime_checkable
class OrderVenue(Protocol):
    """Places and tracks orders on one venue (ccxt, brokers; chains go through the batch
    contract instead). Every method is idempotent on `client_id`."""

    venue: str

    def submit(self, order: OrderRequest) -> OrderState:
        """Place `order`; if an order with the same client_id exists, return its state."""
        ...

    def status(self, client_id: str) -> OrderState: ...

    def cancel(self, client_id: str) -> OrderState: ...


def read_snapshot(
    readers: Sequence[VenueReader], spec: PortfolioSpec, now: int
) -> tuple[Snapshot, tuple[VenueReading, ...]]:
    """Call every reader once and assemble one snapshot taken at `now` (unix seconds).

    A holding no reader returned becomes a failed position (blocks its asset), a position for a
    holding the spec does not declare is refused by the drift step, and a holding returned twice
    is an error of the reader.
    """
    readings = tuple(r.read(spec, now) for r in readers)
    positions: dict[str, Position] = {}
    for reading in readings:
        for p in reading.positions:
            if p.holding in positions:
                raise ValueError(f"holding {p.holding!r} was returned by two readers")
            positions[p.holding] = p
    for h in spec.holdings:
        if h.id not in positions:
            positions[h.id] = Position.failed(
                holding=h.id,
                asset=h.asset,
                venue=h.venue,
                kind=h.kind,
                decimals=h.decimals or 0,
                reason="no reader returned it",
            )
    blocks = tuple((r.venue, r.block) for r in readings if r.block is not None)
    return Snapshot(positions=tuple(positions.values()), taken_at=now, blocks=blocks), readings
