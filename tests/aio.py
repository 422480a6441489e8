"""Running async test bodies: each test gets a fresh event loop (ccxt binds a session to one)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any


def aio(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Decorate an `async def` test so pytest runs it (fixtures still injected by name)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


async def nosleep(seconds: float) -> None:
    """A sleep that yields to the loop but does not wait: backoff in tests costs no time."""
    await asyncio.sleep(0)


class FakeClock:
    """Monotonic time that advances only when the code under test sleeps (deterministic stale timers)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.001)
        await asyncio.sleep(0)
