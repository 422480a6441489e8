"""A JSON-RPC proxy in front of a node that fails a set fraction of calls, for the RPC-fault tests.

It owns the fault schedule (seeded, so a failing run replays) and a log of what it did to each
call. The faults are the ones a keeper meets in production:

- `429` and `503`: refused before reaching the node (nothing happened);
- `502_after`: forwarded to the node, then the answer is replaced by a 502 (it DID happen);
- `timeout`: the proxy hangs, the client times out; the node never saw the call;
- `timeout_after`: forwarded, then the answer is lost to a hang (it happened; the client can't know);
- `reset`: the connection is dropped before forwarding.

The ambiguous kinds (`502_after`, `timeout_after`) are the ones that catch a blind re-send. Methods
in `exempt` always pass (for test harness calls). It must not be used outside tests and demos.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from keeper.devnet.httpserver import Drop, Hang, LocalServer, Request, Response

FAULT_KINDS = ("429", "503", "502_after", "timeout", "timeout_after", "reset")


@dataclass(frozen=True)
class ProxyEvent:
    """One call through the proxy: its method, params, what the proxy did, and whether the node saw it."""

    method: str
    params: list
    fault: str | None
    forwarded: bool


class FaultyProxy:
    """Forward JSON-RPC to `upstream`, failing a `rate` fraction of calls with `kinds` (seeded)."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.3,
        seed: int = 0,
        kinds: Iterable[str] = FAULT_KINDS,
        hang_s: float = 1.0,
        exempt: Iterable[str] = (),
    ) -> None:
        kinds = tuple(kinds)
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within 0..1")
        self.upstream = upstream
        self.rate = rate
        self.kinds = kinds
        self.hang_s = hang_s
        self.exempt = frozenset(exempt)
        self.events: list[ProxyEvent] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30)
        self._server = LocalServer(self._handle, name="faulty-proxy")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> FaultyProxy:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._client.close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def faults(self, method: str | None = None) -> list[ProxyEvent]:
        with self._lock:
            return [e for e in self.events if e.fault and (method is None or e.method == method)]

    def _handle(self, request: Request) -> Response | Hang | Drop:
        try:
            payload = json.loads(request.body)
        except json.JSONDecodeError:
            return Response(400, {"error": "not JSON"})
        first = payload[0] if isinstance(payload, list) and payload else payload
        method = str(first.get("method", "")) if isinstance(first, dict) else ""
        params = first.get("params", []) if isinstance(first, dict) else []
        with self._lock:
            fault = None
            if method not in self.exempt and self._rng.random() < self.rate:
                fault = self._rng.choice(self.kinds)
        forwarded = fault in (None, "502_after", "timeout_after")
        answer = self._forward(request.body) if forwarded else None
        with self._lock:
            self.events.append(ProxyEvent(method, params, fault, forwarded))
        if fault is None:
            return answer
        if fault == "429":
            return Response(429, {"error": "too many requests"}, {"retry-after": "0"})
        if fault == "503":
            return Response(503, b"service unavailable", {"content-type": "text/plain"})
        if fault == "502_after":
            return Response(502, b"bad gateway", {"content-type": "text/plain"})
        if fault in ("timeout", "timeout_after"):
            return Hang(self.hang_s)
        return Drop()

    def _forward(self, body: bytes) -> Response:
        upstream = self._client.post(
            self.upstream, content=body, headers={"content-type": "application/json"}
        )
        return Response(
            upstream.status_code, upstream.content, {"content-type": "application/json"}
        )
