"""A check run on a thread of its own, with its own event loop, handing results over in batches.

The TUI's event loop draws and reads keys; with 10,000 keys the engine answers ~1,000 checks a
second (request signing, HTTP parsing, rate budgets), which on the UI's loop delays key presses
by hundreds of milliseconds. Here the engine runs on a worker thread's loop, and the consumer's
loop only receives batches (at most one every ``every`` seconds) and applies them. ``finish``
(also after a cancel) stops the engine promptly and returns the results not applied yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Callable

from kutui.checks.runner import CheckEvent
from kutui.kucoin.client import ClientPool

#: What the thread runs: the engine's event stream, given a pool made on the thread's loop.
Engine = Callable[[ClientPool], AsyncIterator[CheckEvent]]
#: The interpreter's thread switch interval while a run is going (seconds; Python's is 0.005).
#: The engine thread seldom waits, so each time the consumer's loop wakes (a key, a timer) it
#: waited up to one interval for the GIL, several times per key press.
SWITCH_INTERVAL = 0.001


class ThreadedRun:
    """Runs ``engine`` on a thread: ``start``, read ``batches``, then always ``finish``."""

    def __init__(self, engine: Engine, make_pool: Callable[[], ClientPool], every: float) -> None:
        self._engine = engine
        self._make_pool = make_pool
        self._every = every
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[list[CheckEvent] | None] = asyncio.Queue()
        self._thread: asyncio.Future[None] | None = None
        #: What the engine raised, if it failed (set by ``finish``).
        self.error: Exception | None = None

    def stop(self) -> None:
        """Ask the engine to stop (from any thread): requests in flight are cancelled."""
        self._stop.set()
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the thread's loop has already closed
                loop.call_soon_threadsafe(task.cancel)

    def start(self) -> None:
        """Start the thread; call from the loop that will read ``batches``."""
        home = asyncio.get_running_loop()

        def hand_over(batch: list[CheckEvent] | None) -> None:
            with contextlib.suppress(RuntimeError):  # the consumer's loop is gone (shut down)
                home.call_soon_threadsafe(self._queue.put_nowait, batch)

        self._thread = asyncio.ensure_future(asyncio.to_thread(self._thread_main, hand_over))

    async def batches(self) -> AsyncIterator[list[CheckEvent]]:
        """The events in batches as the thread hands them over, until the run ends."""
        while (batch := await self._queue.get()) is not None:
            yield batch

    async def finish(self) -> list[list[CheckEvent]]:
        """Stop the run if it is still going, wait for the thread (moments after a cancel) and
        return the batches not read yet: what was learned before the stop is never lost."""
        self.stop()
        if self._thread is not None:
            try:
                await asyncio.shield(self._thread)
            except Exception as exc:  # noqa: BLE001 - kept for ``error``, raised by the caller
                self.error = exc
        late: list[list[CheckEvent]] = []
        while not self._queue.empty():
            batch = self._queue.get_nowait()
            if batch:
                late.append(batch)
        return late

    def _thread_main(self, hand_over: Callable[[list[CheckEvent] | None], None]) -> None:
        before = sys.getswitchinterval()
        sys.setswitchinterval(min(before, SWITCH_INTERVAL))
        try:
            asyncio.run(self._consume(hand_over))
        finally:
            sys.setswitchinterval(before)
            hand_over(None)

    async def _consume(self, hand_over: Callable[[list[CheckEvent] | None], None]) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        if self._stop.is_set():
            return
        pool = self._make_pool()
        events = self._engine(pool)
        pending: list[CheckEvent] = []

        def flush() -> None:
            nonlocal pending
            if pending:
                hand_over(pending)
                pending = []

        async def flush_every() -> None:
            # Also while the engine waits (a rate budget, the last slow answers): results known
            # are shown within ``every`` seconds, not held until the next one arrives.
            while True:
                await asyncio.sleep(self._every)
                flush()

        ticker = asyncio.create_task(flush_every())
        try:
            async for event in events:
                pending.append(event)
        except asyncio.CancelledError:
            pass  # stop() was called: hand over what is known, then end
        finally:
            ticker.cancel()
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            await pool.aclose()
            flush()
