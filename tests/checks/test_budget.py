"""The per-pool budget: one probe first, reservations, waiting for the reset, giving up."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kutui.checks.budget import BudgetBook, RateWaitTooLong
from kutui.kucoin.ratelimit import RateLimit


class FakePool:
    """KuCoin's window: starts at the first request, ``limit`` weight per ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.started: float | None = None
        self.used = 0
        self.rejected = 0
        self.served = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def spend(self, weight: int) -> tuple[bool, RateLimit]:
        now = time.monotonic()
        if self.started is None or now >= self.started + self.window:
            self.started, self.used = now, 0
        reset_ms = int((self.started + self.window - now) * 1000)
        if self.used + weight > self.limit:
            self.rejected += 1
            return False, RateLimit(self.limit, self.limit - self.used, reset_ms, now)
        self.used += weight
        self.served += 1
        return True, RateLimit(self.limit, self.limit - self.used, reset_ms, now)


async def call(book: BudgetBook, pool: FakePool, name: str = "uid1", latency: float = 0.01) -> bool:
    reservation = await book.acquire(name, 20)
    pool.in_flight += 1
    pool.max_in_flight = max(pool.max_in_flight, pool.in_flight)
    try:
        await asyncio.sleep(latency / 2)
        ok, headers = pool.spend(20)
        await asyncio.sleep(latency / 2)
        headers = RateLimit(headers.limit, headers.remaining, headers.reset_ms, time.monotonic())
    finally:
        pool.in_flight -= 1
    book.settle(reservation, headers, answered=True, exhausted=not ok)
    return ok


async def test_many_requests_on_one_pool_never_hit_the_limit() -> None:
    pool = FakePool(limit=2000, window=0.4)  # VIP0: 100 key-info calls per window
    book = BudgetBook(max_wait=5)
    results = await asyncio.gather(*(call(book, pool) for _ in range(250)))
    assert all(results)
    assert pool.rejected == 0
    assert pool.served == 250
    assert book.pool("uid1").waits > 0  # it really had to pace


async def test_unknown_pool_sends_one_request_first() -> None:
    pool = FakePool(limit=2000, window=10)
    book = BudgetBook()
    first = asyncio.create_task(call(book, pool, latency=0.05))
    others = [asyncio.create_task(call(book, pool, latency=0.05)) for _ in range(10)]
    await asyncio.sleep(0.03)
    assert pool.in_flight == 1  # the probe alone
    await asyncio.gather(first, *others)
    assert pool.max_in_flight == 10  # then the rest at once (weight allows it)


async def test_wait_longer_than_max_gives_up_with_the_reset() -> None:
    pool = FakePool(limit=40, window=30)
    book = BudgetBook(max_wait=1)
    assert await call(book, pool) and await call(book, pool)
    with pytest.raises(RateWaitTooLong) as caught:
        await call(book, pool)
    assert 28_000 < caught.value.reset_ms <= 30_050
    assert "resets in" in str(caught.value)
    assert pool.rejected == 0


async def test_a_429_empties_the_pool_until_its_reset() -> None:
    book = BudgetBook(max_wait=0.5)
    reservation = await book.acquire("p")
    spent = RateLimit(2000, 0, 20_000, time.monotonic())
    book.settle(reservation, spent, answered=True, exhausted=True)
    with pytest.raises(RateWaitTooLong):
        await book.acquire("p")


async def test_answers_without_headers_leave_the_pool_unpaced() -> None:
    book = BudgetBook()
    for _ in range(2):  # two probes without budget headers...
        probe = await book.acquire("p")
        assert probe.probe
        book.settle(probe, None, answered=True)
    grants = await asyncio.gather(*(book.acquire("p") for _ in range(100)))
    assert not any(g.metered for g in grants)


async def test_a_probe_that_times_out_lets_another_probe() -> None:
    book = BudgetBook()
    probe = await book.acquire("p")
    waiter = asyncio.create_task(book.acquire("p"))
    await asyncio.sleep(0)
    assert not waiter.done()
    book.settle(probe, None, answered=False)
    second = await waiter
    assert second.probe


async def test_pools_are_independent() -> None:
    a, b = FakePool(limit=20, window=30), FakePool(limit=2000, window=30)
    book = BudgetBook(max_wait=0.2)
    assert await call(book, a, "a")
    with pytest.raises(RateWaitTooLong):
        await call(book, a, "a")
    assert all(await asyncio.gather(*(call(book, b, "b") for _ in range(50))))


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 60),
    limit_calls=st.integers(3, 30),
    latency=st.floats(0.0, 0.01),
)
def test_no_429_whatever_the_load(n: int, limit_calls: int, latency: float) -> None:
    async def scenario() -> FakePool:
        pool = FakePool(limit=20 * limit_calls, window=0.05)
        book = BudgetBook(max_wait=100)
        await asyncio.gather(*(call(book, pool, latency=latency) for _ in range(n)))
        return pool

    pool = asyncio.run(scenario())
    assert pool.rejected == 0
    assert pool.served == n
