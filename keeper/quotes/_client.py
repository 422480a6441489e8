"""The HTTP plumbing the aggregator sources share: JSON over httpx with read retries, and the
mapping of aggregator statuses to quote errors (400/404/422 -> `NoRoute`, anything else that is
not 200 -> `BadQuote`). It knows no particular API; each source module owns its paths and fields.
"""

from __future__ import annotations

from typing import Any

import httpx

from keeper.http import RetryPolicy, request_json
from keeper.quotes.base import BadQuote, NoRoute
from keeper.secrets import redact

NO_ROUTE_STATUSES = frozenset({400, 404, 422})


class AggregatorClient:
    """GET/POST JSON to one aggregator's base URL with fixed headers (which may hold an API key)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        headers: dict[str, str],
        auth_hint: str,
        timeout_s: float,
        retry: RetryPolicy,
        client: httpx.Client | None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._headers = {"accept": "application/json", **headers}
        self._auth_hint = auth_hint
        self._retry = retry
        self._client = client or httpx.Client(timeout=timeout_s)

    def get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        return self._request("GET", path, what, params=params)

    def post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        return self._request("POST", path, what, json=body)

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        answer = request_json(
            self._client,
            method,
            self.base_url + path,
            what=f"{self.name} {what}",
            idempotent=True,
            retry=self._retry,
            auth_hint=self._auth_hint,
            headers=self._headers,
            **kwargs,
        )
        body = answer.body
        if answer.status == 200 and isinstance(body, dict):
            return body
        detail = _describe(body) or answer.text[:160]
        if answer.status in NO_ROUTE_STATUSES:
            raise NoRoute(redact(f"{self.name} {what}: no route ({detail})"))
        raise BadQuote(
            redact(f"{self.name} {what}: unexpected answer HTTP {answer.status} ({detail})")
        )

    def close(self) -> None:
        self._client.close()


def _describe(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for key in ("description", "reason", "detail", "message", "error"):
        if isinstance(body.get(key), str):
            return body[key]
    return ""
