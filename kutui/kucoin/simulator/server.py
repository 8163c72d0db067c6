"""The simulator over real HTTP/1.1 on loopback: asyncio streams, keep-alive, no framework.

``SimulatorServer(exchange, host, port)``: ``await start()``, then ``url``; ``await close()``.
``serve(args)`` runs one until SIGINT/SIGTERM, printing the URL as the first line of stdout
(flushed) so a parent process can read it; ``kutui simulate`` and
``python -m kutui.kucoin.simulator.server`` both use it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from http import HTTPStatus

from kutui.errors import KutuiError, UsageError
from kutui.kucoin.simulator.exchange import Exchange, SimResponse, internal_error
from kutui.kucoin.simulator_options import add_arguments

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head_bytes(status: int, headers: list[tuple[str, str]], length: int, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"content-length: {length}")
    lines.append("connection: close" if close else "connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class SimulatorServer:
    def __init__(self, exchange: Exchange, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.exchange = exchange
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._on_connection, self.host, self.port, limit=MAX_HEAD
            )
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        client_ip = str(peer[0]) if peer else "127.0.0.1"
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed the connection between requests
            except asyncio.LimitOverrunError:
                await self._plain(writer, 431, close=True)  # an answer, not a hang-up
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            parts = request_line.split(" ")
            if len(parts) != 3:
                await self._plain(writer, 400, close=True)
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                await self._plain(writer, 411, close=True)
                return
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                await self._plain(writer, 400, close=True)
                return
            body = await reader.readexactly(length) if length else b""
            connection = headers.get("connection", "").lower()
            close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
            answer = self._answer(method, target, headers, body, client_ip)
            if answer.hang:
                # Never answer: hold the connection until the client gives up (or we stop).
                await asyncio.sleep(self.exchange.state.server.hang_seconds)
                return
            if answer.delay_s > 0:
                await asyncio.sleep(answer.delay_s)
            writer.write(_head_bytes(answer.status, answer.headers, len(answer.body), close))
            if method != "HEAD":
                writer.write(answer.body)
            await writer.drain()
            if close:
                return

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, client_ip: str
    ) -> SimResponse:
        """The exchange's answer; a bug anywhere in it still answers (500000), never hangs up."""
        try:
            return self.exchange.handle(method, target, headers, body, client_ip)
        except Exception as exc:  # noqa: BLE001 - the connection must get an answer
            print(f"kutui simulate: {method} answered 500: {type(exc).__name__}", file=sys.stderr)
            return internal_error(type(exc).__name__)

    @staticmethod
    async def _plain(writer: asyncio.StreamWriter, status: int, *, close: bool) -> None:
        body = _reason(status).encode()
        writer.write(_head_bytes(status, [("content-type", "text/plain")], len(body), close))
        writer.write(body)
        await writer.drain()


# ---------------------------------------------------------------------- command line


def _apply_overrides(exchange: Exchange, args: argparse.Namespace) -> None:
    settings = exchange.state.server
    for name in ("latency_ms", "jitter_ms"):
        value = getattr(args, name, None)
        if value is not None:
            if value < 0:
                raise UsageError(f"--{name.replace('_', '-')} must not be negative")
            setattr(settings, name, value)
    if getattr(args, "error_rate", None) is not None:
        if not 0.0 <= args.error_rate <= 1.0:
            raise UsageError("--error-rate must be between 0 and 1")
        settings.error_rate = args.error_rate


async def _serve_until_signalled(server: SimulatorServer) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(server.url, flush=True)
    users, keys = len(server.exchange.state.users), len(server.exchange.state.keys)
    print(f"kutui simulate: {users} users, {keys} keys; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.close()


def serve(args: argparse.Namespace) -> int:
    """Load the state, listen, print the URL, serve until SIGINT/SIGTERM. Raises KutuiError."""
    from kutui.kucoin.simulator import Simulator

    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    simulator = Simulator.from_toml(args.state)
    _apply_overrides(simulator, args)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"kutui simulate: warning: listening on {args.host}, not loopback only",
            file=sys.stderr,
        )
    asyncio.run(_serve_until_signalled(SimulatorServer(simulator, host=args.host, port=args.port)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kutui.kucoin.simulator.server")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except KutuiError as exc:
        print(f"kutui: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
