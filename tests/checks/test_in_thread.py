"""A check run on its own thread (kutui/checks/in_thread.py): every event arrives once, in
order, on the caller's loop; a stop keeps what was learned; an engine failure reaches the
caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from kutui.checks.in_thread import ThreadedRun
from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.kucoin.client import ClientPool
from kutui.model import CheckResult, KeyRef, Status

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def engine(count: int, delay: float, seen: list[str], *, fail_at: int = -1) -> object:
    async def events(_pool: ClientPool) -> AsyncIterator[CheckEvent]:
        for done in range(1, count + 1):
            await asyncio.sleep(delay)
            if done == fail_at:
                raise RuntimeError("engine broke")
            seen.append(threading.current_thread().name)
            target = CheckTarget(f"k{done}", KeyRef("a", "", f"k{done}"), "http://x", None)
            yield CheckEvent(target, CheckResult(Status.OK, NOW), done, count)

    return events


async def collect(run: ThreadedRun, stop_after: int = -1) -> list[str]:
    got: list[str] = []
    run.start()
    try:
        async for batch in run.batches():
            got += [e.target.key_id for e in batch]
            if 0 <= stop_after <= len(got):
                break
    finally:
        for batch in await run.finish():
            got += [e.target.key_id for e in batch]
    return got


async def test_every_event_arrives_once_in_order_from_another_thread() -> None:
    seen: list[str] = []
    run = ThreadedRun(engine(50, 0.001, seen), ClientPool, 0.01)  # type: ignore[arg-type]
    got = await collect(run)
    assert got == [f"k{i}" for i in range(1, 51)]
    assert threading.current_thread().name not in seen


async def test_a_stop_ends_the_run_and_keeps_what_was_learned() -> None:
    seen: list[str] = []
    run = ThreadedRun(engine(1000, 0.005, seen), ClientPool, 0.02)  # type: ignore[arg-type]
    got = await collect(run, stop_after=5)
    assert 5 <= len(got) < 1000
    assert len(got) == len(seen)  # nothing the engine finished was dropped
    assert got == [f"k{i}" for i in range(1, len(got) + 1)]


async def test_an_engine_failure_reaches_the_caller_after_its_results() -> None:
    seen: list[str] = []
    run = ThreadedRun(engine(10, 0.001, seen, fail_at=4), ClientPool, 0.0)  # type: ignore[arg-type]
    got = await collect(run)
    assert got == ["k1", "k2", "k3"]
    assert isinstance(run.error, RuntimeError)
    assert str(run.error) == "engine broke"
