"""Positions on exchanges and brokers for `keeper status`: one call, every venue, no venue hiding another.

This module owns gathering what each configured venue holds (through each adapter's `positions`)
into plain rows, in parallel, with the retry policy; a venue that fails is reported as one line
(its error, redacted) beside the others' rows instead of failing the whole status. Printing is the
CLI's job; on-chain positions come from the chain adapters and sit beside these rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from keeper.errors import HaltError, KeeperError
from keeper.secrets import redact
from keeper.venues.retry import RetryPolicy, Sleep, with_retries
from keeper.venues.types import Position


@dataclass(frozen=True, slots=True)
class VenueStatus:
    venue: str
    positions: tuple[Position, ...]
    error: str | None = None


async def gather_positions(
    readers: dict[str, Callable[[], Awaitable[list[Position]]]],
    *,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> list[VenueStatus]:
    """`readers` maps a venue name to its positions call (e.g. `lambda: venue.positions("USDT")`)."""
    policy = retry or RetryPolicy(max_attempts=3)

    async def one(name: str, read: Callable[[], Awaitable[list[Position]]]) -> VenueStatus:
        try:
            rows = await with_retries(read, policy, what=f"{name}: positions", sleep=sleep)
        except HaltError:
            raise
        except KeeperError as e:
            return VenueStatus(name, (), redact(e.one_line()))
        return VenueStatus(name, tuple(rows))

    return list(await asyncio.gather(*(one(n, r) for n, r in readers.items())))


def rows(statuses: list[VenueStatus]) -> list[dict[str, Any]]:
    """Flat rows for a table: venue, asset, quantity, price, value (Decimal or None)."""
    out: list[dict[str, Any]] = []
    for s in statuses:
        if s.error:
            out.append(
                {
                    "venue": s.venue,
                    "asset": "-",
                    "quantity": None,
                    "price": None,
                    "value": None,
                    "error": s.error,
                }
            )
            continue
        for p in s.positions:
            value = p.quantity * p.price if p.price is not None else None
            out.append(
                {
                    "venue": s.venue,
                    "asset": p.asset,
                    "quantity": p.quantity,
                    "price": p.price,
                    "value": value,
                    "currency": p.currency,
                }
            )
    return out
