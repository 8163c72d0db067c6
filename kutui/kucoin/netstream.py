"""httpcore's network streams with a cheap "is the idle connection readable?" test.

Before each request and after each answer, httpcore's connection pool asks every connection of
the pool whether it has expired; for an idle HTTP/1.1 connection that is
``get_extra_info("is_readable")`` (a server that closed the connection leaves it readable). On
asyncio, httpcore's anyio stream answers it by building anyio's whole table of socket attributes
(a ``getpeername`` system call among them) to find the raw socket, then a fresh ``select.poll``:
with 8 connections per shard that was about a tenth of the CPU of a bulk check
(``kutui check --all``, profiled with py-spy against ``kutui simulate``; bench/yardstick.py).

``ReadableCheckBackend`` wraps the pool's backend: its streams find the raw socket once, when
connected, and keep one poll object registered on it. Everything else is passed through
unchanged, so timeouts, TLS and proxies behave as httpcore's own streams do. The answer is the
same as httpcore's (``httpcore._utils.is_socket_readable``): readable data or a closed socket
count as readable.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterable
from typing import Any, Protocol

import httpcore
import httpx

__all__ = ["ReadableCheckBackend", "install"]

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


class _Stream(httpcore.AsyncNetworkStream):
    """Delegates to httpcore's stream; answers ``is_readable`` from the socket found once."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        # On asyncio this is the transport's socket wrapper (asyncio.trsock.TransportSocket),
        # not a socket.socket: anything with a descriptor will do.
        sock = inner.get_extra_info("socket")
        self._socket: _HasFileno | None = sock if callable(getattr(sock, "fileno", None)) else None
        self._poll: Any = None
        if self._socket is not None and hasattr(select, "poll"):
            fd = self._socket.fileno()
            if fd >= 0:
                self._poll = select.poll()
                self._poll.register(fd, select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        self._poll = None
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._poll is not None and self._socket is not None:
            # A closed socket's descriptor may already belong to another one: closed is
            # readable, as in httpcore (the next read returns b"").
            if self._socket.fileno() < 0:
                return True
            return bool(self._poll.poll(0))
        return self._inner.get_extra_info(info)


class ReadableCheckBackend(httpcore.AsyncNetworkBackend):
    """Wraps a network backend (httpcore's own by default); its streams are ``_Stream``s."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(transport: httpx.AsyncHTTPTransport) -> bool:
    """Put ``ReadableCheckBackend`` under ``transport``'s connection pool (direct, HTTP or SOCKS
    proxy: all are httpcore connection pools); False, and nothing changed, if httpx's insides are
    not what this was written for (httpx 0.28, httpcore 1.0)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        return False
    if not isinstance(backend, ReadableCheckBackend):
        pool._network_backend = ReadableCheckBackend(backend)
    return True
