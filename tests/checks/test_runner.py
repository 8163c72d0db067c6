"""The engine on the in-process simulator: right statuses, pacing, streaming, retries, cancel."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from kutui.checks.runner import CheckEvent, CheckTarget, RunStats, run_checks
from kutui.kucoin.client import ClientPool
from kutui.kucoin.simulator import Simulator
from kutui.model import KeyRef, Status

from .simfleet import API_URL, build_fleet, credential_for

ALL_STATUSES = {s for s in Status if s is not Status.UNCHECKED}


def sim_pool(sim: Simulator, timeout: float = 2.0) -> ClientPool:
    return ClientPool(transport=sim.transport(), timeout=timeout, max_retries=0)


async def collect(targets: list[CheckTarget], pool: ClientPool, **kw: object) -> list[CheckEvent]:
    return [event async for event in run_checks(targets, pool=pool, **kw)]  # type: ignore[arg-type]


async def test_thousand_keys_on_300_uids_end_with_the_right_status() -> None:
    sim = Simulator(seed=7)
    fleet = build_fleet(sim, uids=300, keys=1000, timeouts=2)
    pool = sim_pool(sim, timeout=0.5)
    stats = RunStats()
    try:
        events = await collect(
            [f.target for f in fleet],
            pool,
            concurrency=64,
            timeout=0.5,
            max_rate_wait=5,
            stats=stats,
        )
    finally:
        await pool.aclose()
    expected = {f.target.key_id: f.expected for f in fleet}
    got = {e.target.key_id: e.result.status for e in events}
    assert len(events) == 1000
    assert got == expected
    assert set(got.values()) == ALL_STATUSES
    assert [e.done for e in events] == list(range(1, 1001))
    assert {e.total for e in events} == {1000}
    assert stats.clock_syncs == 1  # one URL, one sync (the clock_skew uids re-sync in the client)
    by_id = {e.target.key_id: e.result for e in events}
    ok = next(f for f in fleet if f.expected is Status.OK)
    assert by_id[ok.target.key_id].uid == ok.uid
    assert by_id[ok.target.key_id].permissions == ("General", "Spot")
    limited = next(f for f in fleet if f.expected is Status.RATE_LIMITED)
    assert by_id[limited.target.key_id].rate_limit_reset_ms is not None
    assert "resets in" in by_id[limited.target.key_id].message
    denied = next(f for f in fleet if f.expected is Status.IP_DENIED)
    assert "127.0.0.1" in by_id[denied.target.key_id].message  # KuCoin names the IP it saw


async def test_one_vip0_uid_with_150_keys_is_paced_without_a_single_429() -> None:
    sim = Simulator(quota_window_ms=1000)
    sim.add_user(501, vip_level=0)  # 2,000 per window, weight 20: 100 checks per window
    keys = [sim.add_key(501, remark=f"k{i}") for i in range(150)]
    targets = [
        CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k), "501")
        for i, k in enumerate(keys)
    ]
    pool = sim_pool(sim)
    stats = RunStats()
    try:
        events = await collect(targets, pool, concurrency=64, stats=stats)
    finally:
        await pool.aclose()
    assert Counter(e.result.status for e in events) == {Status.OK: 150}
    assert sim.counters.rate_limited == 0
    assert stats.rate_limited_answers == 0
    assert stats.budget_waits > 0  # it had to wait for the window to reset


class TrackingTransport(httpx.AsyncBaseTransport):
    """Records the order in which key checks start and end."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.log: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v1/user/api-key":
            return await self.inner.handle_async_request(request)
        self.log.append("start")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
            self.log.append("end")


async def test_quota_spent_by_someone_else_is_waited_out() -> None:
    sim = Simulator(quota_window_ms=800)
    sim.add_user(551)
    other = sim.add_key(551)
    keys = [sim.add_key(551) for _ in range(5)]
    pool = sim_pool(sim)
    try:
        client = pool.get(API_URL)
        for _ in range(100):  # another process spends the whole VIP0 window
            await client.api_key_info(credential_for(other))
        targets = [
            CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k), "551")
            for i, k in enumerate(keys)
        ]
        events = await collect(targets, pool, max_rate_wait=5)
    finally:
        await pool.aclose()
    assert Counter(e.result.status for e in events) == {Status.OK: 5}
    assert sim.counters.rate_limited == 1  # only the probe met the 429, then everyone waited


async def test_rate_wait_beyond_the_limit_gives_up_with_the_reset() -> None:
    sim = Simulator(quota_window_ms=20_000)
    sim.add_user(552)
    other = sim.add_key(552)
    keys = [sim.add_key(552) for _ in range(3)]
    pool = sim_pool(sim)
    try:
        client = pool.get(API_URL)
        for _ in range(100):
            await client.api_key_info(credential_for(other))
        targets = [
            CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k), "552")
            for i, k in enumerate(keys)
        ]
        events = await collect(targets, pool, max_rate_wait=1)
    finally:
        await pool.aclose()
    assert {e.result.status for e in events} == {Status.RATE_LIMITED}
    assert all(
        e.result.rate_limit_reset_ms and e.result.rate_limit_reset_ms > 15_000 for e in events
    )
    assert all("resets in" in e.result.message for e in events)
    assert sim.counters.rate_limited == 1


async def test_unknown_pool_sends_one_request_before_the_others() -> None:
    sim = Simulator(latency_ms=30)
    sim.add_user(601)
    keys = [sim.add_key(601) for _ in range(20)]
    targets = [
        CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k))
        for i, k in enumerate(keys)
    ]
    tracker = TrackingTransport(sim.transport())
    pool = ClientPool(transport=tracker, max_retries=0)
    try:
        events = await collect(targets, pool)
    finally:
        await pool.aclose()
    assert len(events) == 20
    assert tracker.log[:2] == ["start", "end"]  # the probe went alone
    assert tracker.max_in_flight == 19  # then the others together: the quota allows it


async def test_key_without_secret_is_reported_without_a_request() -> None:
    sim = Simulator()
    target = CheckTarget("id0", KeyRef("acct", "", "bare"), API_URL, None)
    pool = sim_pool(sim)
    try:
        events = await collect([target], pool)
    finally:
        await pool.aclose()
    assert [(e.result.status, e.done, e.total) for e in events] == [(Status.UNCHECKED, 1, 1)]
    assert sim.counters.requests == 0


class FlakyTransport(httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` key checks with a connection error, then passes through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/user/api-key" and self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_unreachable_keys_get_one_retry_round() -> None:
    sim = Simulator()
    sim.add_user(701)
    keys = [sim.add_key(701) for _ in range(5)]
    targets = [
        CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k))
        for i, k in enumerate(keys)
    ]
    pool = ClientPool(transport=FlakyTransport(sim.transport(), 3), max_retries=0)
    try:
        events = await collect(targets, pool)
    finally:
        await pool.aclose()
    assert Counter(e.result.status for e in events) == {Status.OK: 5}
    assert [e.done for e in events] == [1, 2, 3, 4, 5]

    pool = ClientPool(transport=FlakyTransport(sim.transport(), 10), max_retries=0)
    try:
        events = await collect(targets, pool, retries=1)
    finally:
        await pool.aclose()
    assert Counter(e.result.status for e in events) == {Status.UNREACHABLE: 5}
    assert all("ConnectError" in e.result.message for e in events)


async def test_unreachable_clock_marks_keys_without_signing_requests() -> None:
    sim = Simulator(error_rate=1.0)
    sim.add_user(801)
    keys = [sim.add_key(801) for _ in range(4)]
    targets = [
        CheckTarget(f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(k))
        for i, k in enumerate(keys)
    ]
    pool = sim_pool(sim)
    try:
        events = await collect(targets, pool, retries=1)
    finally:
        await pool.aclose()
    assert {e.result.status for e in events} == {Status.UNREACHABLE}
    assert all("clock" in e.result.message for e in events)
    assert sim.counters.endpoints["GET /api/v1/user/api-key"] == 0
    assert sim.counters.endpoints["GET /api/v1/timestamp"] == 2  # one per round


async def test_closing_the_iterator_cancels_the_rest() -> None:
    sim = Simulator(latency_ms=200)
    for uid in range(901, 911):
        sim.add_user(uid)
    targets = [
        CheckTarget(
            f"id{uid}",
            KeyRef("acct", "", f"k{uid}"),
            API_URL,
            credential_for(sim.add_key(uid)),
            str(uid),
        )
        for uid in range(901, 911)
    ]
    pool = sim_pool(sim)
    before = set(asyncio.all_tasks())
    try:
        iterator = run_checks(targets, pool=pool)
        first = await iterator.__anext__()
        await iterator.aclose()  # type: ignore[attr-defined]
        leftover = set(asyncio.all_tasks()) - before
        assert not leftover
        assert first.done == 1
        sent = sim.counters.requests
        await asyncio.sleep(0.3)
        assert sim.counters.requests == sent
    finally:
        await pool.aclose()


async def test_cancelling_the_consumer_cancels_the_checks() -> None:
    sim = Simulator(latency_ms=500)
    sim.add_user(950)
    targets = [
        CheckTarget(
            f"id{i}", KeyRef("acct", "", f"k{i}"), API_URL, credential_for(sim.add_key(950)), "950"
        )
        for i in range(5)
    ]
    pool = sim_pool(sim)
    before = set(asyncio.all_tasks())

    async def consume() -> None:
        async for _ in run_checks(targets, pool=pool):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert not (set(asyncio.all_tasks()) - before)
    await pool.aclose()
