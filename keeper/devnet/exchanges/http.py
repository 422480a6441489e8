"""A small threaded HTTP server on a free loopback port, shared by every local venue server.

This module owns the socket side: starting on 127.0.0.1 with port 0 (the OS picks a free port),
logging every request, applying the transport faults the engine has queued (drop the connection
before or after executing, answer late), and stopping cleanly (a late answer waits on an event
that `stop` sets, so no thread outlives the server by more than a moment).

It must not know any venue's protocol: a front-end supplies `route` (request -> operation name
and handler) and `error` (a fault -> that venue's error response).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from keeper.devnet.exchanges.engine import Engine, Fault

log = logging.getLogger(__name__)


@dataclass
class Request:
    """One HTTP request as the front-end sees it (raw query and body kept for signature checks)."""

    method: str
    path: str
    raw_query: str
    body: bytes
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is; None -> empty body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return dumps(self.body).encode(), "application/json"


_DECIMAL_MARK = re.compile(r'"\\u0000D([-0-9.Ee+]+)"')


def dumps(body: Any) -> str:
    """JSON where `Decimal` values become JSON numbers written exactly (no float on the way)."""

    def mark(value: Any) -> str:
        if isinstance(value, Decimal):
            return "\u0000D" + format(value, "f")
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return _DECIMAL_MARK.sub(r"\1", json.dumps(body, default=mark))


class HttpError(Exception):
    """Raised by a route or handler to answer with `response` at once (auth failures, 404s)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


@dataclass
class LoggedRequest:
    """What the server saw: enough to assert 'no authenticated call' or 'one POST per client id'."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    authenticated: bool
    op: str
    status: int | None = None
    fault: str | None = None


class FrontEnd(Protocol):
    engine: Engine

    def route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        """The operation name (for fault queues) and the handler that executes the request."""

    def error(self, fault: Fault) -> Response:
        """This venue's error answer for an injected `status` fault."""

    def is_authenticated(self, request: Request) -> bool:
        """Whether the request carries credentials (API key header, signature, session)."""


class LocalServer:
    """Serve one front-end on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, front: FrontEnd, *, name: str):
        self.front = front
        self.name = name
        self.requests: list[LoggedRequest] = []
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self.front.engine

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Engine back to its initial state and an empty request log."""
        self.engine.reset()
        with self._log_lock:
            self.requests.clear()

    def _log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def wait_or_stop(self, seconds: float) -> bool:
        """Sleep `seconds` unless the server stops first; True if it is stopping."""
        return self._stopping.wait(seconds)


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK stalls
        server_version = f"keeper-devnet-{server.name}"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            log.debug("%s %s", server.name, format % args)

        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=split.path,
                raw_query=split.query,
                body=body,
                headers={k: v for k, v in self.headers.items()},
            )
            entry = LoggedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                body=body,
                authenticated=server.front.is_authenticated(request),
                op="?",
            )
            server._log(entry)
            try:
                op, handler = server.front.route(request)
            except HttpError as e:
                entry.status = e.response.status
                self._send(e.response)
                return
            entry.op = op
            with server.engine.lock:
                fault = server.engine.faults.pop(op)
            if fault is not None:
                entry.fault = fault.kind
            if fault is not None and fault.kind == "status":
                response = server.front.error(fault)
                entry.status = response.status
                self._send(response)
                return
            if fault is not None and fault.kind == "drop_before":
                self._drop()
                return
            try:
                with server.engine.lock:  # one request at a time sees and changes the venue
                    response = handler()
            except HttpError as e:
                response = e.response
            entry.status = response.status
            if fault is not None and fault.kind == "drop_after":
                self._drop()
                return
            if fault is not None and fault.kind == "delay_after":
                if server.wait_or_stop(fault.delay_s):
                    self._drop()
                    return
            self._send(response)

        def _send(self, response: Response) -> None:
            payload, content_type = response.encoded()
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up first (a timeout we caused)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle
        do_PUT = _handle
        do_PATCH = _handle

    return Handler
