"""What the exchange and broker readers share: the core `Position` of one holding, and running
an adapter's coroutines from the synchronous `VenueReader.read`.

This module owns the rules that turn a venue's answer into the core's positions: amounts become
raw units rounded down to the holding's decimals (default 8), a price needs the time it was true
(`Position.read` marks it stale or missing), a venue whose read failed makes every one of its
holdings a failed position with the (redacted) reason, never a zero. It does no I/O itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import TypeVar

from keeper.core.portfolio import Position
from keeper.core.spec import HoldingSpec, PortfolioSpec
from keeper.money import to_raw
from keeper.secrets import redact

T = TypeVar("T")

#: Holdings on exchanges and brokers without `decimals:` in keeper.yaml.
DEFAULT_DECIMALS = 8

#: Quote currencies taken at $1 when the venue lists no QUOTE/USD market (see `CcxtReader`).
USD_UNITS = frozenset({"USD", "USDT", "USDC", "DAI", "FDUSD", "TUSD", "USDP", "PYUSD", "BUSD"})


def decimals_of(holding: HoldingSpec) -> int:
    return holding.decimals if holding.decimals is not None else DEFAULT_DECIMALS


def position(
    spec: PortfolioSpec,
    holding: HoldingSpec,
    *,
    quantity: Decimal,
    price_usd: Decimal | None,
    source: str,
    price_time: int | None,
    now: int,
) -> Position:
    """The core position of `holding` holding `quantity` whole units priced at `price_usd`.

    The quantity is rounded DOWN to the holding's decimals (never count more than is there); an
    asset's `price: {fixed: ...}` in keeper.yaml wins over the venue's price.
    """
    decimals = decimals_of(holding)
    asset = spec.asset(holding.asset)
    if asset.price.fixed is not None:
        price_usd, source, price_time = asset.price.fixed, "fixed in keeper.yaml", now
    return Position.read(
        holding=holding.id,
        asset=holding.asset,
        venue=holding.venue,
        kind=holding.kind,
        raw=to_raw(max(quantity, Decimal(0)), decimals),
        decimals=decimals,
        price_usd=price_usd,
        price_source=source,
        price_time=price_time,
        now=now,
        max_age_s=asset.price.max_age_s or spec.default_price_max_age_s,
    )


def failed(holdings: Iterable[HoldingSpec], reason: str) -> tuple[Position, ...]:
    """Every holding of a venue whose read failed: unknown, never zero (blocks their assets)."""
    why = redact(reason)
    return tuple(
        Position.failed(
            holding=h.id,
            asset=h.asset,
            venue=h.venue,
            kind=h.kind,
            decimals=decimals_of(h),
            reason=why,
        )
        for h in holdings
    )


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine `make()` to completion from synchronous code.

    In a thread without a running event loop this is `asyncio.run`; inside one (an async caller
    of a synchronous reader), the coroutine runs in a fresh loop on a worker thread, so the
    caller's loop is never re-entered.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]
