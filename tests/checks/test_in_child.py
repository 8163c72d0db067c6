"""A check run in a child process (kutui/checks/in_child.py), against the simulator over
loopback HTTP: the same results as the engine in this process, a stop keeps what was learned
and reaps the child, an engine failure reaches the caller, and no child outlives its parent."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kutui.checks import in_child
from kutui.checks.in_child import ChildRun
from kutui.checks.runner import CheckEvent, CheckTarget, run_checks
from kutui.clock import current
from kutui.kucoin.client import ClientPool
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.server import SimulatorServer
from kutui.store.config import ChecksConfig
from tests.checks.simfleet import build_fleet

SETTINGS = ChecksConfig(timeout_seconds=3.0, retries=0)


@dataclasses.dataclass
class Fleet:
    sim: Simulator
    url: str
    targets: list[CheckTarget]


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    sim = Simulator(clock=current().ms)
    server = SimulatorServer(sim, port=0)
    await server.start()
    keys = build_fleet(sim, uids=20, keys=120, timeouts=0)
    targets = [dataclasses.replace(k.target, api_url=server.url) for k in keys]
    try:
        yield Fleet(sim, server.url, targets)
    finally:
        await server.close()


async def collect(run: ChildRun, stop_after: int = -1) -> list[CheckEvent]:
    got: list[CheckEvent] = []
    run.start()
    try:
        async for batch in run.batches():
            got += batch
            if 0 <= stop_after <= len(got):
                break
    finally:
        for batch in await run.finish():
            got += batch
    return got


def gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie its new parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def test_the_child_finds_what_the_engine_finds_here(fleet: Fleet) -> None:
    run = ChildRun(SETTINGS, fleet.targets, 0.05)
    got = await collect(run)
    assert run.error is None
    assert sorted(e.done for e in got) == list(range(1, len(fleet.targets) + 1))
    assert {e.total for e in got} == {len(fleet.targets)}
    assert all(any(e.target is t for t in fleet.targets) for e in got)  # the caller's targets
    pool = ClientPool(timeout=SETTINGS.timeout_seconds, clock=current().ms)
    here = {
        e.target.key_id: e.result
        async for e in run_checks(fleet.targets, pool=pool, timeout=3.0, retries=0)
    }
    await pool.aclose()
    there = {e.target.key_id: e.result for e in got}
    assert {k: r.status for k, r in there.items()} == {k: r.status for k, r in here.items()}
    ok = next(k for k, r in here.items() if r.uid is not None)
    same = ("permissions", "ip_whitelist", "uid", "is_master", "sub_name", "remark", "created_at")
    for name in same:
        assert getattr(there[ok], name) == getattr(here[ok], name), name
    assert run.pid is not None and gone(run.pid)


async def test_a_stop_ends_the_child_and_keeps_what_was_learned(fleet: Fleet) -> None:
    fleet.sim.server.latency_ms = 200  # every answer slow: the run is still going at the stop
    settings = dataclasses.replace(SETTINGS, concurrency=4)
    run = ChildRun(settings, fleet.targets, 0.05)
    started = time.monotonic()
    got = await collect(run, stop_after=4)
    assert 4 <= len(got) < len(fleet.targets)
    assert sorted(e.done for e in got) == list(range(1, len(got) + 1))  # none lost, none twice
    assert run.error is None
    assert run.pid is not None and gone(run.pid)
    assert time.monotonic() - started < 10


async def test_a_stop_before_the_child_started_reaps_it(fleet: Fleet) -> None:
    run = ChildRun(SETTINGS, fleet.targets, 0.05)
    run.start()
    await asyncio.sleep(0)
    assert await run.finish() == []
    assert run.error is None
    assert run.pid is None or gone(run.pid)


async def test_an_engine_failure_reaches_the_caller(fleet: Fleet) -> None:
    # An API URL httpx cannot even parse: the engine raises (not one key's status).
    broken = [*fleet.targets[:3], dataclasses.replace(fleet.targets[3], api_url="ftp://[")]
    run = ChildRun(SETTINGS, broken, 0.05)
    await collect(run)
    assert isinstance(run.error, in_child.CheckEngineError)
    assert "check engine failed" in str(run.error)
    print(run.error)


async def test_a_child_that_dies_says_so_without_its_secrets(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = fleet.targets[0].credential
    assert secret is not None
    monkeypatch.setattr(in_child, "MODULE", "kutui.checks.no_such_module")
    run = ChildRun(SETTINGS, fleet.targets, 0.05)
    assert await collect(run) == []
    assert isinstance(run.error, in_child.CheckEngineError)
    assert "no_such_module" in str(run.error)
    assert secret.api_secret.reveal() not in str(run.error)


CHILD_OF_A_SCRIPT = """
import asyncio, dataclasses, sys
from kutui.checks.in_child import ChildRun
from kutui.checks.runner import CheckTarget
from kutui.model import Credential, KeyRef
from kutui.secret import Secret
from kutui.store.config import ChecksConfig

async def main():
    cred = Credential(Secret("a" * 24), Secret("b" * 36), Secret("c" * 10))
    targets = [CheckTarget(f"k{i}", KeyRef("a", "", f"k{i}"), sys.argv[1], cred) for i in range(9)]
    run = ChildRun(ChecksConfig(timeout_seconds=60), targets, 0.05)
    run.start()
    while run.pid is None:
        await asyncio.sleep(0.01)
    print(run.pid, flush=True)
    async for _ in run.batches():
        pass

asyncio.run(main())
"""


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
async def test_no_child_outlives_its_parent(how: signal.Signals, tmp_path: Path) -> None:
    # A server that accepts and never answers: the child's requests hang until its parent ends.
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    script = tmp_path / "parent.py"
    script.write_text(CHILD_OF_A_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = await asyncio.to_thread(parent.stdout.readline)
        pid = int(line)
        await asyncio.sleep(0.5)
        assert not gone(pid)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"b" * 36 not in cmdline and b"c" * 10 not in cmdline  # never in argv
        parent.send_signal(how)
        await asyncio.to_thread(parent.wait, 10)
        deadline = time.monotonic() + 10
        while not gone(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert gone(pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        server.close()
