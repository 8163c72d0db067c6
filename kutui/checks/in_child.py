"""A check run in a child process, handing results back in batches: ``python -m`` this module.

On a thread (kutui/checks/in_thread.py) the engine holds the GIL most of the time at ~1,000
checks a second (signing, HTTP parsing, JSON, rate budgets), so the TUI's loop waits for it
many times per key press. In a child process the two never share a GIL. ``ChildRun`` has
``ThreadedRun``'s shape (``start``, ``batches``, ``finish``, ``error``), so the TUI uses either.

The child gets the settings and targets, credentials included, as one line on its stdin (never
argv or the environment: another user's ``ps`` reads those), runs kutui/checks/runner.py's engine
with a real ``ClientPool`` on the process clock (``kutui.clock.current()``, so
``KUTUI_CLOCK_SHIFT_DAYS`` applies as in the parent) and writes one line per batch of results
(kutui/checks/wire.py). Closing its stdin stops it: it cancels the requests in flight, writes
what it learned and exits; a parent that dies closes it too, so no child outlives the app. It
runs in a session of its own, so a Ctrl-C at the terminal reaches the app, which stops it, and
not the child in the middle of a batch. Its stderr is captured, never shown on the terminal; the
tail, redacted, only explains a child that died without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess  # nosec B404  # the engine's own module, no shell, nothing from the user
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

from kutui.checks import wire
from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.errors import KutuiError
from kutui.store.config import ChecksConfig

MODULE = "kutui.checks.in_child"
#: Seconds ``finish`` waits for a stopped child before it terminates it.
GRACE = 2.0
#: A batch line is cut at this many results (a run of keys without secrets answers all at once).
MAX_BATCH = 2000
#: The longest line read from the child (a batch of MAX_BATCH results is well under 1 MB).
LINE_LIMIT = 16 * 1024 * 1024
#: How much of the child's stderr is kept (its last bytes), for the error of a child that died.
STDERR_TAIL = 4096


class CheckEngineError(KutuiError):
    """The engine failed in the child process (its type and message, redacted)."""


class ChildRun:
    """Runs the check engine in a child process: ``start``, read ``batches``, then always
    ``finish`` (which also reaps the child)."""

    def __init__(
        self,
        settings: ChecksConfig,
        targets: Sequence[CheckTarget],
        every: float,
        *,
        grace: float = GRACE,
    ) -> None:
        self._settings = settings
        self._targets = list(targets)
        self._every = every
        self._grace = grace
        self._queue: asyncio.Queue[list[CheckEvent] | None] = asyncio.Queue()
        self._proc: asyncio.subprocess.Process | None = None
        self._driver: asyncio.Task[None] | None = None
        self._stopping = False
        self._killed = False
        self._stderr = bytearray()
        #: What the engine raised, if it failed (set once the child has ended).
        self.error: Exception | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id once started (tests)."""
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        """Ask the child to stop: closing its stdin cancels the requests in flight."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()

    def start(self) -> None:
        """Start the child; call from the loop that will read ``batches``."""
        self._driver = asyncio.ensure_future(self._drive())

    async def batches(self) -> AsyncIterator[list[CheckEvent]]:
        """The events in batches as the child writes them, until the run ends."""
        while (batch := await self._queue.get()) is not None:
            yield batch

    async def finish(self) -> list[list[CheckEvent]]:
        """Stop the run if it is still going, wait for the child (terminated after ``grace``
        seconds) and return the batches not read yet: what was learned is never lost."""
        self.stop()
        if self._driver is not None:
            _done, pending = await asyncio.wait({self._driver}, timeout=self._grace)
            if pending:
                self._kill()
            try:
                await asyncio.shield(self._driver)
            except Exception as exc:  # noqa: BLE001 - kept for ``error``, raised by the caller
                self.error = exc
        late: list[list[CheckEvent]] = []
        while not self._queue.empty():
            batch = self._queue.get_nowait()
            if batch:
                late.append(batch)
        return late

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._killed = True
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    async def _drive(self) -> None:
        try:
            if not self._stopping:
                await self._run_child()
        finally:
            self._queue.put_nowait(None)

    async def _run_child(self) -> None:
        proc = await asyncio.create_subprocess_exec(  # nosec B603  # fixed argv, no shell
            sys.executable,
            "-m",
            MODULE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            limit=LINE_LIMIT,
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None  # nosec B101  # piped
        assert proc.stderr is not None  # nosec B101  # piped
        stderr = asyncio.ensure_future(self._drain_stderr(proc.stderr))
        try:
            if self._stopping:
                proc.stdin.close()  # stopped while it started: it reads no request and ends
            else:
                await self._send_request(proc.stdin)
            ended = await self._read(proc.stdout)
            returncode = await proc.wait()
            await stderr
        finally:
            if proc.returncode is None:  # cancelled: no child outlives its run
                self._kill()
                with contextlib.suppress(asyncio.CancelledError):
                    await proc.wait()
            stderr.cancel()
        if not ended and returncode != 0 and not self._killed:
            tail = bytes(self._stderr).decode(errors="replace").strip().splitlines()
            last = tail[-1] if tail else f"exit status {returncode}"
            raise _engine_error("child exited", last)

    async def _send_request(self, stdin: asyncio.StreamWriter) -> None:
        line = wire.request_line(self._settings, self._targets, self._every)
        try:
            stdin.write(line)
            del line  # the credentials in clear: no longer than needed
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return  # the child ended already (it says why on stdout or stderr)
        if self._stopping:
            stdin.close()

    async def _read(self, stdout: asyncio.StreamReader) -> bool:
        """Queue each batch the child writes; True once it wrote its last line."""
        ended = False
        while line := await stdout.readline():
            body: dict[str, Any] = json.loads(line)
            if "batch" in body:
                self._queue.put_nowait(wire.read_batch(body["batch"], self._targets))
            elif "error" in body:
                ended = True
                self.error = _engine_error(body["error"]["type"], body["error"]["message"])
            elif body.get("end"):
                ended = True
        return ended

    async def _drain_stderr(self, stderr: asyncio.StreamReader) -> None:
        while chunk := await stderr.read(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL]


def _engine_error(kind: str, message: str) -> CheckEngineError:
    from kutui.redact import redact

    # The child's words, masked as any message the TUI shows (secrets the vault registered,
    # credential shapes).
    return CheckEngineError(redact(f"check engine failed ({kind[:80]}): {message[:500]}"))


# ---------------------------------------------------------------------- the child's side


async def _serve(
    settings: ChecksConfig, targets: list[CheckTarget], every: float, out: IO[bytes]
) -> None:
    from kutui.checks.runner import run_checks
    from kutui.clock import current
    from kutui.kucoin.client import ClientPool

    loop = asyncio.get_running_loop()
    index = {id(t): i for i, t in enumerate(targets)}
    pending: list[tuple[int, CheckEvent]] = []

    def flush() -> None:
        nonlocal pending
        if pending:
            out.write(wire.batch_line(pending))
            out.flush()
            pending = []

    clock = current()
    # As the TUI's pool (KutuiApp.make_pool) and kutui/ops/checks.py's ``run`` build them.
    pool = ClientPool(timeout=settings.timeout_seconds, clock=clock.ms)
    events = run_checks(
        targets,
        pool=pool,
        concurrency=settings.concurrency,
        timeout=settings.timeout_seconds,
        retries=settings.retries,
        max_rate_wait=settings.max_rate_wait_seconds,
        clock=clock,
    )

    async def consume() -> None:
        try:
            async for event in events:
                pending.append((index[id(event.target)], event))
                if len(pending) >= MAX_BATCH:
                    flush()
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()  # cancels the requests still in flight

    async def flush_every() -> None:
        # Also while the engine waits (a rate budget, the last slow answers).
        while True:
            await asyncio.sleep(every)
            flush()

    engine = asyncio.create_task(consume())
    ticker = asyncio.create_task(flush_every())

    # EOF on stdin: the parent stopped the run, or it is gone. Only the engine's task is
    # cancelled, so what it learned is still written below.
    stdin = os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    await loop.connect_read_pipe(lambda: _OnEof(engine.cancel), stdin)
    error: BaseException | None = None
    try:
        await engine
    except asyncio.CancelledError:
        pass  # stdin closed: hand over what is known, then end
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        error = exc
    finally:
        ticker.cancel()
        await pool.aclose()
    flush()
    out.write(wire.end_line(error))
    out.flush()


class _OnEof(asyncio.Protocol):
    """Calls ``then`` when the pipe it reads ends (whatever it reads is ignored)."""

    def __init__(self, then: Callable[[], object]) -> None:
        self._then = then

    def eof_received(self) -> bool:
        self._then()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._then()


def main() -> int:
    from kutui.hygiene import harden_process

    # The parent decides when the run ends (it closes stdin); a signal to the whole process
    # group must not cut a batch in half.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    harden_process()  # it holds credentials: no core dump, no ptrace by same-user processes
    line = sys.stdin.buffer.readline()
    if not line.endswith(b"\n"):
        return 0  # stopped before the request was whole
    settings, targets, every = wire.read_request(line)
    del line
    out = sys.stdout.buffer
    try:
        asyncio.run(_serve(settings, targets, every, out))
    except BrokenPipeError:
        # The parent is gone: nobody to tell. Point stdout at nothing so exiting stays quiet.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
