"""A local HTTP sink on 127.0.0.1 that records what it is sent (notifications, pings)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class Sink:
    port: int
    received: list[Received] = field(default_factory=list)

    def url(self, scheme: str, path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@contextmanager
def http_sink(status: int = 200) -> Iterator[Sink]:
    """A server answering every request with ``status``, recording each one."""
    sink = Sink(0)

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            sink.received.append(
                Received(self.command, self.path, self.headers.get("Content-Type", ""), body)
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_HEAD = _record

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
