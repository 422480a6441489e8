"""The `VenueReader` of `kind: broker` venues (Alpaca, Interactive Brokers; MT5 says it cannot).

This module owns turning a broker account into the core's positions: the cash and every held
position come from the broker's own account and positions endpoints, each held symbol valued at
the broker's mark at read time (that is the broker's current valuation, in or out of session);
a declared symbol the account does not hold is priced from the latest quote's mid, so the
planner can buy into it. The account read failing makes every holding of the venue a failed
position (its assets are blocked, never counted as zero); a quote failing leaves only that
empty holding unpriced. Credentials and the API root come from `keeper.venues.connect`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from keeper.config.loader import LoadedConfig
from keeper.core.portfolio import Position
from keeper.core.spec import HoldingSpec, PortfolioSpec
from keeper.errors import HaltError, KeeperError
from keeper.venues.base import VenueReading
from keeper.venues.connect import build_adapter, venue_settings
from keeper.venues.hours import MarketHours
from keeper.venues.reading import decimals_of, failed, position, run_sync
from keeper.venues.retry import RetryPolicy, Sleep, with_retries
from keeper.venues.types import Position as VenuePosition

T = TypeVar("T")


class BrokerReader:
    """Reads one broker account. Built by the factory as `BrokerReader(venue, loaded_config)`.

    Missing API keys (Alpaca) are a one-line `ConfigError` here, before any request; MT5 is a
    `NotAvailable` off Windows. IBKR needs no key: the Client Portal Gateway's logged-in session
    is the credential (a logged-out gateway shows as failed positions saying where to log in).
    """

    def __init__(
        self,
        venue: str,
        loaded: LoadedConfig,
        *,
        environ: Mapping[str, str] | None = None,
        hours: MarketHours | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ):
        self.venue = venue
        self._settings = venue_settings(loaded, venue, need_credentials=True, environ=environ)
        self._holdings = tuple(h for h in loaded.spec.holdings if h.venue == venue)
        quote_asset = loaded.model.venues[venue].quote
        self._cash = next(
            (h.ref for h in self._holdings if h.asset == quote_asset), quote_asset or "USD"
        )
        self._hours = hours
        self._retry = retry or RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=2.0)
        self._sleep = sleep
        self.round_trips = 0

    def read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        """Every holding of this venue at unix time `now` (seconds)."""
        return run_sync(lambda: self._read(spec, now))

    async def _read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        adapter: Any = build_adapter(
            self._settings, read_only=False, hours=self._hours, sleep=self._sleep
        )
        try:
            positions = await self._positions(adapter, spec, now)
        finally:
            trips = adapter.requests
            self.round_trips += trips
            await adapter.close()
        return VenueReading(self.venue, positions, None, trips)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(
            call, self._retry, what=f"{self.venue}: {what}", sleep=self._sleep
        )

    async def _positions(self, adapter: Any, spec: PortfolioSpec, now: int) -> tuple[Position, ...]:
        try:
            rows: list[VenuePosition] = await self._call("positions", adapter.positions)
        except HaltError:
            raise
        except KeeperError as e:
            return failed(self._holdings, e.one_line())
        held = {row.asset: row for row in rows}
        unheld = [h for h in self._holdings if h.ref not in held and h.ref != self._cash]

        async def quote(symbol: str) -> Decimal | str:
            try:
                book = await self._call(f"quote {symbol}", lambda: adapter.book(symbol))
            except HaltError:
                raise
            except KeeperError as e:
                return e.one_line()
            return book.mid if book.mid is not None else "no bid and ask quoted"

        quotes = dict(
            zip(
                [h.ref for h in unheld],
                await asyncio.gather(*(quote(h.ref) for h in unheld)),
                strict=True,
            )
        )
        return tuple(
            self._position(spec, h, held.get(h.ref), quotes.get(h.ref), now) for h in self._holdings
        )

    def _position(
        self,
        spec: PortfolioSpec,
        h: HoldingSpec,
        row: VenuePosition | None,
        quote: Decimal | str | None,
        now: int,
    ) -> Position:
        if row is not None and row.quantity < 0:
            return Position.failed(
                holding=h.id,
                asset=h.asset,
                venue=h.venue,
                kind=h.kind,
                decimals=decimals_of(h),
                reason=f"{self.venue} reports {row.quantity} {h.ref}: short or margin positions "
                "are not modelled",
            )
        if row is not None:
            if row.currency != "USD":
                price, source = None, f"{self.venue} marks {h.ref} in {row.currency}, not USD"
            elif h.ref == self._cash:
                price, source = Decimal(1), f"{self.venue} cash"
            else:
                price, source = row.price, f"{self.venue} position mark at read time"
            return position(
                spec,
                h,
                quantity=row.quantity,
                price_usd=price,
                source=source,
                price_time=now if price is not None else None,
                now=now,
            )
        if h.ref == self._cash:  # the broker reported no cash line: none held
            return position(
                spec,
                h,
                quantity=Decimal(0),
                price_usd=Decimal(1),
                source=f"{self.venue} cash",
                price_time=now,
                now=now,
            )
        if isinstance(quote, Decimal):
            return position(
                spec,
                h,
                quantity=Decimal(0),
                price_usd=quote,
                source=f"{self.venue} {h.ref} quote mid at read time",
                price_time=now,
                now=now,
            )
        return position(
            spec,
            h,
            quantity=Decimal(0),
            price_usd=None,
            source=f"{self.venue} {h.ref} quote: {quote or 'not read'}",
            price_time=None,
            now=now,
        )
