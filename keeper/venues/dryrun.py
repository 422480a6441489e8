"""The dry run: the orders a plan would send, computed from public market data, nothing sent.

This module owns `DryRunExecutor`. Pair it with venues built without credentials: then even a bug
here cannot place an order or make an authenticated call (such venues raise `NotAvailable` before
any request leaves). Venues whose every call needs credentials (Alpaca, the IBKR gateway session)
are priced from reference prices (the last snapshot) instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from keeper.errors import ConfigError, NotAvailable
from keeper.venues import sizing
from keeper.venues.executor import ExecutionConfig, OrderVenue
from keeper.venues.legs import LegSpec, client_order_id
from keeper.venues.plan import safe_order
from keeper.venues.retry import Sleep, with_retries
from keeper.venues.types import ZERO, Book


@dataclass(frozen=True, slots=True)
class PreviewOrder:
    """An order the keeper would send: what `keeper rebalance preview` prints per venue."""

    venue: str
    leg_index: int
    slice_index: int
    client_id: str
    symbol: str
    side: str
    amount: Decimal
    limit_price: Decimal
    notional: Decimal
    note: str | None = None
    fee: Decimal = ZERO  # expected fee in quote units: notional x the venue's taker rate
    slices: int = 1  # how many orders the leg is split into


class DryRunExecutor:
    """Computes the orders a plan would send from public market data only; sends nothing.

    Pair it with venues built without credentials: then even a bug here cannot place an order or
    make an authenticated call (they raise `NotAvailable` before any request leaves).
    """

    def __init__(
        self,
        venues: dict[str, OrderVenue],
        config: ExecutionConfig | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
    ):
        self.venues = venues
        self.config = config or ExecutionConfig()
        self.sleep = sleep
        self.recorded: list[PreviewOrder] = []

    async def preview(
        self, legs: list[LegSpec], reference_prices: dict[tuple[str, str], Decimal] | None = None
    ) -> list[PreviewOrder]:
        """The orders each leg would send. Venues whose quotes need credentials (Alpaca) are
        priced from `reference_prices[(venue, symbol)]` (the last snapshot) instead of a call."""
        out: list[PreviewOrder] = []
        for venue_name, specs in safe_order(legs).items():
            venue = self.venues.get(venue_name)
            if venue is None:
                raise ConfigError(f"plan names venue {venue_name!r} with no adapter configured")
            for spec in specs:
                rules = await with_retries(
                    lambda venue=venue, spec=spec: venue.rules(spec.symbol),
                    self.config.retry,
                    what=f"{venue_name}: rules",
                    sleep=self.sleep,
                )
                source = None
                try:
                    book = await with_retries(
                        lambda venue=venue, spec=spec: venue.book(spec.symbol),
                        self.config.retry,
                        what=f"{venue_name}: book",
                        sleep=self.sleep,
                    )
                except NotAvailable:
                    reference = (reference_prices or {}).get((venue_name, spec.symbol))
                    if reference is None:
                        out.append(
                            PreviewOrder(
                                venue_name,
                                spec.leg_index,
                                0,
                                "-",
                                spec.symbol,
                                spec.side,
                                spec.amount,
                                ZERO,
                                ZERO,
                                "no price without credentials; give a reference price",
                            )
                        )
                        continue
                    book = Book(venue_name, spec.symbol, ((reference, ZERO),), ((reference, ZERO),))
                    source = f"priced from the snapshot ({reference}); no venue call"
                price = sizing.limit_price(book, spec.side, spec.max_slippage_bps, rules.tick)
                if price is None:
                    out.append(
                        PreviewOrder(
                            venue_name,
                            spec.leg_index,
                            0,
                            "-",
                            spec.symbol,
                            spec.side,
                            spec.amount,
                            ZERO,
                            ZERO,
                            "empty book",
                        )
                    )
                    continue
                slices = sizing.slice_amounts(
                    spec.amount, price, self.config.max_order_notional, rules
                )
                if not slices:
                    why = sizing.tradable(sizing.round_down(spec.amount, rules.step), price, rules)
                    out.append(
                        PreviewOrder(
                            venue_name,
                            spec.leg_index,
                            0,
                            "-",
                            spec.symbol,
                            spec.side,
                            spec.amount,
                            price,
                            spec.amount * price,
                            f"not tradable: {why}",
                        )
                    )
                    continue
                note = source
                if sizing.worse_than(price, spec.worst_price, spec.side):
                    note = f"price {price} is past the worst price {spec.worst_price}: would not be sent"
                rate = await venue.taker_fee(spec.symbol)
                for i, amount in enumerate(slices):
                    out.append(
                        PreviewOrder(
                            venue=venue_name,
                            leg_index=spec.leg_index,
                            slice_index=i,
                            client_id=client_order_id(spec.plan_id, spec.leg_index, i, 0),
                            symbol=spec.symbol,
                            side=spec.side,
                            amount=amount,
                            limit_price=price,
                            notional=amount * price,
                            note=note,
                            fee=amount * price * rate,
                            slices=len(slices),
                        )
                    )
        self.recorded.extend(out)
        return out
