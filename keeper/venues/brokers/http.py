"""HTTP for broker adapters (httpx), with errors translated once by what must happen next.

This module owns the transport rules every broker adapter shares: JSON parsed with `Decimal` for
every number (no float ever appears), and the translation of transport and HTTP failures:
timeouts and dropped connections are `ReconcileError` for requests that change something
(placing, cancelling, confirming) and `TemporaryError` for reads; 429 is `RateLimited` with the
Retry-After seconds; 5xx follows the timeout rule; 401 is a `ConfigError`. Other 4xx answers go
to the broker's own `classify` (a 403 is "insufficient buying power" at Alpaca, not a bad key).
Messages are one line and redacted; request headers (which carry secrets) are never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from keeper.errors import ConfigError, KeeperError, ReconcileError, TemporaryError
from keeper.secrets import redact
from keeper.venues.retry import RateLimited
from keeper.venues.types import Op

log = logging.getLogger(__name__)

Classifier = Callable[[int, Any, Op, str], KeeperError | None]


class HttpStatus(Exception):
    """An HTTP answer the broker's classifier chose not to turn into an error (e.g. a 404 lookup)."""

    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status = status
        self.body = body


def parse_json(text: str) -> Any:
    """JSON with every non-integer number as an exact `Decimal`."""
    if not text:
        return None
    return json.loads(text, parse_float=Decimal)


class BrokerHttp:
    """One broker's base URL, auth headers and error classifier."""

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 10.0,
        verify: bool = True,
        classify: Classifier | None = None,
    ):
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.classify = classify
        self.requests = 0  # HTTP requests sent (a reader reports them as its round trips)
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers or {}, timeout=timeout_s, verify=verify
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        op: Op,
        what: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> Any:
        """The parsed JSON answer. Raises a keeper error, or `HttpStatus` for `ok_statuses`."""
        line = f"{self.venue}: {what}"
        content = None
        headers = None
        if body is not None:
            content = json.dumps(body, default=_decimal_as_str)
            headers = {"Content-Type": "application/json"}
        self.requests += 1
        try:
            response = await self._client.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as e:
            raise _unknown(op, f"{line}: timed out ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise _unknown(op, f"{line}: connection failed ({type(e).__name__})") from e
        status = response.status_code
        try:
            parsed = parse_json(response.text)
        except json.JSONDecodeError:
            parsed = response.text
        if status < 300:
            return parsed
        if status in ok_statuses:
            raise HttpStatus(status, parsed)
        detail = redact(" ".join(str(parsed).split()))[:240]
        if status == 429:
            raise RateLimited(f"{line}: HTTP 429 {detail}", retry_after_s=_retry_after(response))
        if status >= 500:
            raise _unknown(op, f"{line}: HTTP {status} {detail}")
        if self.classify is not None:
            error = self.classify(status, parsed, op, f"{line}: HTTP {status} {detail}")
            if error is not None:
                raise error
        if status == 401:
            raise ConfigError(
                f"{line}: HTTP 401 {detail} (check the API key and secret in the environment)"
            )
        raise ConfigError(f"{line}: HTTP {status} {detail}")


def _unknown(op: Op, message: str) -> KeeperError:
    """A failure after which the request may or may not have been executed."""
    return TemporaryError(message) if op is Op.READ else ReconcileError(message)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _decimal_as_str(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
