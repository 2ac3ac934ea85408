"""A small fault-injecting HTTP proxy (stdlib only) for real-failure tests of the S3 location.

It listens on loopback and forwards every request to an upstream S3 server (moto_server). Rules
pick requests by method and query/path substrings and, for the first `times` matches (all when
None), either answer with an S3-style error (e.g. 500 InternalError, 503 SlowDown) or stall
without answering until `stall` seconds pass (a read timeout on the client), then drop the
connection, or forward the request with its body cut short (a broken middlebox). `stop()` closes the listening socket: the endpoint then refuses connections.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}


@dataclass
class Rule:
    method: str | None = None  # "PUT", "GET", ...; None for any
    contains: tuple[str, ...] = ()  # substrings the request target (path + query) must contain
    header: str | None = None  # a header the request must carry (case-insensitive)
    status: int = 500
    code: str = "InternalError"
    stall: float | None = None  # seconds to hold the request without answering
    truncate: bool = False  # forward the request with its body's last byte cut off instead
    times: int | None = None  # how many matching requests to hit; None: every one
    hits: int = field(default=0)

    def matches(self, method: str, target: str, headers: set[str]) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.header is not None and self.header.lower() not in headers:
            return False
        if not all(c in target for c in self.contains):
            return False
        return self.times is None or self.hits < self.times


class FaultProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int]] = []  # (method, target, status answered; 0 = dropped)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._connections: set[socket.socket] = set()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                super().finish()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                names = {k.lower() for k in self.headers}
                rule = proxy._match(self.command, self.path, names)
                if rule is not None and rule.stall is not None:
                    proxy._release.wait(rule.stall)
                    proxy._record(self.command, self.path, 0)
                    self.close_connection = True
                    return
                if rule is not None and rule.truncate:
                    self._forward(body[:-1])
                    return
                if rule is not None:
                    payload = (
                        '<?xml version="1.0" encoding="UTF-8"?>\n'
                        f"<Error><Code>{rule.code}</Code><Message>injected fault</Message>"
                        "<RequestId>fault</RequestId></Error>"
                    ).encode()
                    proxy._record(self.command, self.path, rule.status)  # before the client hears
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
                    }
                    if body or self.command in ("PUT", "POST"):
                        headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    proxy._record(self.command, self.path, answer.status)
                    self.send_response(answer.status, answer.reason)
                    for k, v in answer.getheaders():
                        if k.lower() in HOP_BY_HOP or k.lower() in (
                            "content-length",
                            "date",
                            "server",
                        ):
                            continue
                        self.send_header(k, v)
                    length = answer.getheader("Content-Length")
                    if self.command == "HEAD" and length is not None:
                        self.send_header("Content-Length", length)
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._stopped = False

    def _match(self, method: str, target: str, headers: set[str]) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, target, headers):
                    rule.hits += 1
                    return rule
        return None

    def _record(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.log.append((method, target, status))

    def fail(self, **rule: object) -> Rule:
        """Add a rule (see Rule's fields); returns it, so a test can read its `hits`."""
        r = Rule(**rule)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(r)
        return r

    def heal(self) -> None:
        """Drop every rule and release stalled requests."""
        with self._lock:
            self.rules.clear()
        self._release.set()
        self._release = threading.Event()

    def stop(self) -> None:
        """Stop listening: connections to the proxy are refused from now on."""
        if self._stopped:
            return
        self._stopped = True
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:  # kept-alive client connections end too
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)
