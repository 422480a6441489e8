"""What the treasury holds at one moment: `Position` and `Snapshot`, frozen values.

Readers (the on-chain Multicall3 reader, the CEX and broker adapters, the static-file reader)
build these from what they read; everything downstream (drift, strategies, planner) only reads
them. To build a position from a read, call `Position.read(...)` with the raw integer amount,
the token's decimals, the USD price as `Decimal` (or None), where the price came from, when it was
observed, and the snapshot time: it applies the staleness rule and records why a position is
unpriced. An unpriced position blocks trading in its whole asset (see `keeper.core.drift`).

Amounts are raw integer units of the *asset* (for an ERC-4626 holding: underlying units through
`convertToAssets`; the share count goes in `shares_raw`). Prices are USD per whole unit.

This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from keeper.core.spec import LIQUID_KINDS, HoldingKind
from keeper.money import MONEY_CONTEXT, to_decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Position:
    """One holding's balance and price at snapshot time.

    `holding` is the holding id from `keeper.yaml` (unique), `asset` the economic exposure it
    counts toward, `venue` where it can be traded. `price_usd` is None exactly when
    `unpriced_reason` is set (missing, non-positive or stale price, or a failed balance read).
    `price_time` is the unix time (seconds) the price was observed (a feed's `updatedAt`).
    """

    holding: str
    asset: str
    venue: str
    kind: HoldingKind
    raw: int
    decimals: int
    price_usd: Decimal | None
    price_source: str
    price_time: int | None = None
    unpriced_reason: str | None = None
    shares_raw: int | None = None  # vault shares / aToken scaled balance, for migrations
    read_ok: bool = True  # False: the balance itself is unknown (see `failed`)

    def __post_init__(self) -> None:
        if not isinstance(self.raw, int) or isinstance(self.raw, bool) or self.raw < 0:
            raise ValueError(
                f"{self.holding}: raw amount must be a non-negative int, got {self.raw!r}"
            )
        if not isinstance(self.decimals, int) or not 0 <= self.decimals <= 77:
            raise ValueError(
                f"{self.holding}: decimals must be an int in 0..77, got {self.decimals!r}"
            )
        if self.price_usd is not None:
            if not isinstance(self.price_usd, Decimal):
                raise TypeError(
                    f"{self.holding}: price must be a Decimal, got {type(self.price_usd).__name__}"
                )
            if self.unpriced_reason is not None:
                raise ValueError(
                    f"{self.holding}: a priced position cannot carry an unpriced reason"
                )
        elif self.unpriced_reason is None:
            object.__setattr__(self, "unpriced_reason", "no price")

    @classmethod
    def read(
        cls,
        *,
        holding: str,
        asset: str,
        venue: str,
        kind: HoldingKind,
        raw: int,
        decimals: int,
        price_usd: Decimal | None,
        price_source: str,
        price_time: int | None,
        now: int,
        max_age_s: int,
        shares_raw: int | None = None,
    ) -> Position:
        """A position from a read, marked unpriced when its price is missing, not positive, or
        older than `max_age_s` seconds at `now` (unix seconds). A price without a timestamp is
        unpriced: a reader whose price is current by construction (a fixed unit-of-account price,
        a static file without `as_of`) passes `price_time=now` and says so in `price_source`."""
        reason: str | None = None
        if price_usd is None:
            reason = f"no price from {price_source}"
        elif not isinstance(price_usd, Decimal):
            raise TypeError(f"{holding}: price must be a Decimal, got {type(price_usd).__name__}")
        elif price_usd <= 0:
            reason = f"non-positive price {price_usd} from {price_source}"
        elif price_time is None:
            reason = f"price from {price_source} has no timestamp"
        elif now - price_time > max_age_s:
            reason = f"stale price from {price_source}: {now - price_time}s old (max {max_age_s}s)"
        elif price_time - now > max_age_s:
            reason = f"price from {price_source} is dated {price_time - now}s in the future"
        return cls(
            holding=holding,
            asset=asset,
            venue=venue,
            kind=kind,
            raw=raw,
            decimals=decimals,
            price_usd=None if reason else price_usd,
            price_source=price_source,
            price_time=price_time,
            unpriced_reason=reason,
            shares_raw=shares_raw,
        )

    @classmethod
    def failed(
        cls, *, holding: str, asset: str, venue: str, kind: HoldingKind, decimals: int, reason: str
    ) -> Position:
        """A holding whose balance could not be read: counted as unknown, blocks its asset."""
        return cls(
            holding=holding,
            asset=asset,
            venue=venue,
            kind=kind,
            raw=0,
            decimals=decimals,
            price_usd=None,
            price_source="",
            read_ok=False,
            unpriced_reason=f"balance read failed: {reason}",
        )

    @property
    def priced(self) -> bool:
        return self.price_usd is not None

    @property
    def value_known(self) -> bool:
        """Priced, or an empty holding whose balance was read (worth $0 whatever its price)."""
        return self.priced or (self.read_ok and self.raw == 0)

    @property
    def liquid(self) -> bool:
        """Whether the planner may sell from or buy into this holding."""
        return self.kind in LIQUID_KINDS

    @property
    def tokens(self) -> Decimal:
        return to_decimal(self.raw, self.decimals)

    @property
    def value_usd(self) -> Decimal | None:
        """Exact USD value (not rounded), or None when unpriced."""
        if self.price_usd is None:
            return None
        return MONEY_CONTEXT.multiply(self.tokens, self.price_usd)

    def with_raw(self, raw: int) -> Position:
        return replace(self, raw=raw)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every position of the treasury at one moment.

    `taken_at` is the unix time (seconds) the read began; `blocks` holds (venue, block number)
    for chain venues, so a decision can name the exact state it saw. Positions are kept sorted by
    holding id; holding ids are unique.
    """

    positions: tuple[Position, ...]
    taken_at: int
    blocks: tuple[tuple[str, int], ...] = ()
    _by_holding: dict[str, Position] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.positions, key=lambda p: p.holding))
        object.__setattr__(self, "positions", ordered)
        object.__setattr__(self, "blocks", tuple(sorted(self.blocks)))
        table = {p.holding: p for p in ordered}
        if len(table) != len(ordered):
            seen: set[str] = set()
            dup = next(p.holding for p in ordered if p.holding in seen or seen.add(p.holding))
            raise ValueError(f"snapshot holds holding {dup!r} twice")
        object.__setattr__(self, "_by_holding", table)

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)

    def position(self, holding: str) -> Position | None:
        return self._by_holding.get(holding)

    def block(self, venue: str) -> int | None:
        return next((b for v, b in self.blocks if v == venue), None)

    def for_asset(self, asset: str) -> tuple[Position, ...]:
        return tuple(p for p in self.positions if p.asset == asset)

    def unpriced(self) -> tuple[Position, ...]:
        return tuple(p for p in self.positions if not p.priced)

    def replace_positions(self, positions: Iterable[Position]) -> Snapshot:
        return Snapshot(positions=tuple(positions), taken_at=self.taken_at, blocks=self.blocks)
