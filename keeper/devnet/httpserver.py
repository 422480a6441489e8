"""A tiny local HTTP server for the devnet's stand-ins (relay, aggregators, faulty proxy).

It owns the socket, the thread and the plumbing: an app is a function from `Request` to
`Response` (or to `Hang`/`Drop`, which let a fault injector lose an answer the way a real network
does). It binds 127.0.0.1 on a free port and serves each connection in its own daemon thread.
It knows no API and must not be used by the keeper's runtime: it exists for tests and the demo.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: Any = None  # bytes are sent as they are; anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/octet-stream")
        return json.dumps(self.body).encode(), "application/json"


@dataclass(frozen=True)
class Hang:
    """Answer nothing for `seconds`, then drop the connection (a client sees a timeout)."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer (a client sees a reset)."""


App = Callable[[Request], "Response | Hang | Drop"]


class LocalServer:
    """Serve `app` on 127.0.0.1 in a background thread; use as a context manager or start/stop."""

    def __init__(self, app: App, *, port: int = 0, name: str = "local server") -> None:
        self.app = app
        self.name = name
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            log.debug("%s: " + format, server.name, *args)

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            try:
                outcome = server.app(request)
            except Exception as e:  # the stand-in's own bug: answer 500 and keep serving
                log.exception("%s: handler failed", server.name)
                outcome = Response(500, {"error": f"{type(e).__name__}: {e}"})
            if isinstance(outcome, Hang):
                time.sleep(outcome.seconds)
                outcome = Drop()
            if isinstance(outcome, Drop):
                self.close_connection = True
                return
            data, content_type = outcome.encoded()
            self.send_response(outcome.status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            for name, value in outcome.headers.items():
                if name.lower() not in ("content-type", "content-length"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler
