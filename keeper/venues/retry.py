"""Retrying temporary venue failures with backoff, honouring a venue's Retry-After.

This module owns one policy: a `TemporaryError` (timeout on a read, 429, 418, 5xx on a read,
clock skew) is retried with exponential backoff up to `max_attempts`, waiting at least what the
venue asked for in Retry-After; each retry logs a WARNING with the attempt count. Every other
error passes through untouched: a `ReconcileError` must be looked up, never retried blindly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from keeper.errors import TemporaryError

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


class RateLimited(TemporaryError):
    """The venue asked us to slow down (HTTP 429, or 418 after ignoring 429s)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff: `base_delay_s` x 2**n, capped at `max_delay_s` (seconds), `max_attempts` tries."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    # A venue that bans us (418) may ask for minutes; wait at most this long in one call, then
    # give up so the cycle reports it instead of hanging.
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, error: TemporaryError) -> float:
        backoff = min(self.base_delay_s * (2 ** (attempt - 1)), self.max_delay_s)
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            return max(backoff, float(retry_after))
        return backoff


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Await `call()`, retrying `TemporaryError` per `policy`; re-raise the last one when spent."""
    attempt = 1
    while True:
        try:
            return await call()
        except TemporaryError as e:
            if attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, e)
            if wait > policy.max_retry_after_s:
                raise
            log.warning(
                "%s: %s; retry %d of %d in %.2fs",
                what,
                e.one_line(),
                attempt,
                policy.max_attempts - 1,
                wait,
            )
            await sleep(wait)
            attempt += 1
