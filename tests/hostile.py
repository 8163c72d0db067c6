"""A small hostile KuCoin on 127.0.0.1 for tests: what it answers is set per path or per API key.

``HostileServer`` runs a threaded ``http.server`` on a free loopback port. Each answer is a
``Reply``: a status, headers and a body that may be sent whole, in chunks without a length (a
"3 GB" body is generated as it is sent, never built), or one byte at a time with a pause between
bytes (a drip that defeats per-read timeouts). Bodies are raw bytes, so JSON that Python would
never produce (``\\ud800`` escapes, 40-digit numbers, ``1e999``, nesting 100,000 deep) is sent as
written. ``/api/v1/timestamp`` answers the kutui clock's time unless told otherwise.

    with HostileServer() as server:
        server.by_key[API_KEY] = Reply(body=envelope_bytes('{"apiKey": ...}'))
        server.by_path["/api/v2/sub/user"] = Reply(body=b"{", drip=0.2)
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType

from kutui.clock import current


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    #: Seconds between bytes of the body (0: send it at once).
    drip: float = 0.0
    #: Send ``body`` this many times, without a Content-Length (huge bodies, generated).
    repeat: int = 1
    #: Declare this Content-Length instead of the real one (0: the real one).
    declared_length: int = 0


def envelope(data: str, *, code: str = "200000", msg: str = "") -> bytes:
    """A KuCoin envelope around ``data``, raw JSON text (not re-encoded: escapes stay as given)."""
    return ('{"code": "%s", "msg": "%s", "data": %s}' % (code, msg, data)).encode()  # noqa: UP031


def error_envelope(code: str, msg_json: str) -> bytes:
    """An error envelope whose ``msg`` is the raw JSON string literal ``msg_json``."""
    return ('{"code": "%s", "msg": %s}' % (code, msg_json)).encode()  # noqa: UP031


def key_info(api_key: str, **fields: str) -> bytes:
    """A key-info success; ``fields`` replace the raw JSON of any member (``uid="1e999"``)."""
    members = {
        "apiKey": f'"{api_key}"',
        "remark": '"bot"',
        "apiVersion": "3",
        "permission": '"General,Spot"',
        "ipWhitelist": '""',
        "createdAt": "1728443843000",
        "uid": "1001",
        "isMaster": "true",
        "subName": '""',
    }
    members.update(fields)
    return envelope("{" + ", ".join(f'"{k}": {v}' for k, v in members.items()) + "}")


@dataclass
class HostileServer:
    by_path: dict[str, Reply] = field(default_factory=dict)
    by_key: dict[str, Reply] = field(default_factory=dict)
    default: Reply = field(default_factory=lambda: Reply(404, b'{"code": "404", "msg": "no"}'))
    #: Paths of every request received, in order.
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reply_for(self, path: str, api_key: str) -> Reply:
        self.seen.append(path)
        if api_key in self.by_key and path != "/api/v1/timestamp":
            return self.by_key[api_key]
        if path in self.by_path:
            return self.by_path[path]
        if path == "/api/v1/timestamp":
            return Reply(body=envelope(str(int(current().ms()))))
        return self.default

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _chunks(reply: Reply) -> Iterator[bytes]:
    if reply.drip:
        for index in range(len(reply.body)):
            yield reply.body[index : index + 1]
    else:
        for _ in range(reply.repeat):
            yield reply.body


def _handler_for(server: HostileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: pytest shows failures, not access logs

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            reply = server.reply_for(path, self.headers.get("KC-API-KEY", ""))
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.repeat > 1:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                size = reply.declared_length or len(reply.body)
                self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for chunk in _chunks(reply):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if reply.drip:
                        time.sleep(reply.drip)
            except OSError:  # the client gave up: that is what the tests want
                self.close_connection = True

        do_GET = _answer  # noqa: N815
        do_POST = _answer  # noqa: N815
        do_DELETE = _answer  # noqa: N815

    return Handler
