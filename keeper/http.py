"""HTTP for every adapter: one place where httpx outcomes become keeper errors.

This module owns the retry policy for HTTP requests and the translation of httpx exceptions and
HTTP statuses into `keeper.errors`:

- a read (idempotent) is retried with exponential backoff on timeouts, dropped connections, 429
  and 5xx, then raises `TemporaryError`;
- a send (not idempotent) is tried ONCE: any failure that leaves the outcome unknown raises
  `ReconcileError`, and the caller must look the action up before doing anything else;
- 401/403 raise `ConfigError` with the caller's hint (usually the environment variable to fix).

Other 4xx answers are returned to the caller, whose API gives them meaning (an aggregator's
"insufficient liquidity"). Messages pass through `keeper.secrets.redact`. This module knows no API.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from keeper.errors import ConfigError, ReconcileError, TemporaryError
from keeper.secrets import redact

log = logging.getLogger(__name__)

#: Statuses that mean "the server did not do it, try later" for a read.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How a read is retried: `attempts` in all, sleeping `base_delay_s * 2**n` (capped at
    `max_delay_s`, with up to 50% jitter) between them. A 429's Retry-After (seconds) is honoured
    up to `max_delay_s`."""

    attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_delay_s)
            except ValueError:
                pass
        base = min(self.base_delay_s * 2**attempt, self.max_delay_s)
        return base * (1 + self.rng.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)
DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class HttpAnswer:
    """A definitive HTTP answer: the status and the decoded JSON body (None if not JSON)."""

    status: int
    body: Any
    text: str


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    idempotent: bool,
    retry: RetryPolicy = DEFAULT_RETRY,
    auth_hint: str | None = None,
    **kwargs: Any,
) -> HttpAnswer:
    """Send one HTTP request and return the answer, translating failures (see the module doc).

    `what` names the remote thing in errors ("1inch quote", "relay eth_sendBundle").
    `idempotent=False` disables every retry: a send whose answer was lost must be reconciled.
    """
    attempts = retry.attempts if idempotent else 1
    last: str = ""
    for attempt in range(attempts):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException as e:
            last = f"timed out ({type(e).__name__})"
        except httpx.TransportError as e:
            last = f"connection failed ({type(e).__name__}: {e})"
        else:
            status = response.status_code
            if status in (401, 403):
                hint = f": {auth_hint}" if auth_hint else ""
                raise ConfigError(redact(f"{what} refused the credentials (HTTP {status}){hint}"))
            if status not in RETRYABLE_STATUSES:
                return HttpAnswer(status, _decode(response), response.text)
            last = f"HTTP {status}"
            if idempotent and attempt + 1 < attempts:
                pause = retry.delay(attempt, response.headers.get("retry-after"))
                log.warning(
                    "%s: %s, retry %d/%d in %.2fs", what, last, attempt + 1, attempts - 1, pause
                )
                retry.sleep(pause)
                continue
            break
        if idempotent and attempt + 1 < attempts:
            pause = retry.delay(attempt)
            log.warning(
                "%s: %s, retry %d/%d in %.2fs",
                redact(what),
                redact(last),
                attempt + 1,
                attempts - 1,
                pause,
            )
            retry.sleep(pause)
    if not idempotent:
        raise ReconcileError(
            redact(f"{what}: {last}; the outcome is unknown, look it up before sending again")
        )
    raise TemporaryError(redact(f"{what}: {last} after {attempts} attempts; try again later"))


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
