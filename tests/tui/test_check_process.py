"""The TUI's checks with the real engine run in a child process (kutui/checks/in_child.py),
against the simulator over loopback HTTP: results are recorded as they were on a thread, Esc
and quitting stop the child and reap it, and what was learned before a stop is kept."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Label

from kutui.checks import in_child
from kutui.checks.in_child import ChildRun
from kutui.clock import current
from kutui.demo import WEAK_KDF
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.server import SimulatorServer
from kutui.model import Account, ApiKey, Registry, Status, SubAccount
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault, VaultData
from kutui.tui.app import KutuiApp
from tests.checks.simfleet import FleetKey, build_fleet
from tests.checks.test_in_child import gone
from tests.tui.conftest import ready, until

PASSPHRASE = "check-process-tests-passphrase"
SIZE = (120, 40)


@dataclasses.dataclass
class World:
    sim: Simulator
    root: Path
    fleet: list[FleetKey]


def _home(root: Path, fleet: list[FleetKey], url: str) -> None:
    root.mkdir(mode=0o700)
    (root / "config.toml").write_text('[vault]\nunlock = "passphrase"\n\n[checks]\nretries = 0\n')
    (root / "config.toml").chmod(0o600)
    registry = Registry()
    for each in fleet:
        ref = each.target.ref
        if registry.account(ref.account) is None:
            registry.accounts.append(Account(ref.account, api_url=url))
        account = registry.account(ref.account)
        assert account is not None
        if ref.sub and account.sub(ref.sub) is None:
            account.subaccounts.append(SubAccount(ref.sub, each.uid))
        registry.keys.append(ApiKey(each.target.key_id, ref, has_secret=True))
    home = Home.load(root)

    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = registry.accounts, registry.keys

    home.update_registry(replace)
    vault = Vault.create(
        home.paths.vault, passphrase=Secret(PASSPHRASE), kdf=WEAK_KDF, allow_weak=True
    )

    def fill(data: VaultData) -> None:
        for each in fleet:
            assert each.target.credential is not None
            data.put(each.target.key_id, each.target.credential)

    vault.update(fill)
    vault.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sim = Simulator(clock=current().ms)
    server = SimulatorServer(sim, port=0)
    await server.start()
    fleet = build_fleet(sim, uids=10, keys=30, timeouts=0)
    _home(tmp_path / "home", fleet, server.url)
    try:
        yield World(sim, tmp_path / "home", fleet)
    finally:
        await server.close()


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[ChildRun]:
    """Every ChildRun the app starts (none when the check runs on a thread)."""
    started: list[ChildRun] = []
    start = ChildRun.start

    def spy(run: ChildRun) -> None:
        started.append(run)
        start(run)

    monkeypatch.setattr(in_child.ChildRun, "start", spy)
    return started


def _app(world: World) -> KutuiApp:
    home = Home.load(world.root)
    return KutuiApp(home, vault=home.open_vault(passphrase=Secret(PASSPHRASE)), watch_tty=False)


async def test_check_all_runs_in_a_child_and_records_every_result(
    world: World, children: list[ChildRun]
) -> None:
    app = _app(world)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await ready(pilot, app)
        await pilot.press("C")
        await until(pilot, lambda: bool(children) and not main.checking)
        await pilot.pause()
        for each in world.fleet:
            key = app.key_by_id(each.target.key_id)
            assert key is not None and key.status is each.expected, each.target.ref
        messages = [n.message for n in app._notifications]
        total = len(world.fleet)
        assert any(m.startswith(f"Checked: {total} of {total} keys") for m in messages)
    assert len(children) == 1
    assert children[0].error is None
    pid = children[0].pid
    assert pid is not None and gone(pid)


async def test_escape_stops_the_child_and_keeps_what_it_learned(
    world: World, children: list[ChildRun]
) -> None:
    world.sim.server.latency_ms = 400  # slow answers: still running when escape arrives
    app = _app(world)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await ready(pilot, app)
        await pilot.press("C")
        counts = main.query_one("#check-counts", Label)
        await until(pilot, lambda: not str(counts.render()).startswith(" 0/"))
        await pilot.press("escape")
        await until(pilot, lambda: not main.checking)
        await pilot.pause()
        checked = [
            k
            for k in app.registry.keys
            if k.last_check is not None and k.status is not Status.UNCHECKED
        ]
        assert 1 <= len(checked) < len(world.fleet)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith(f"Cancelled: {len(checked)} of") for m in messages), messages
        pid = children[0].pid
        assert pid is not None and gone(pid)


async def test_quitting_during_a_check_leaves_no_child(
    world: World, children: list[ChildRun]
) -> None:
    world.sim.server.latency_ms = 2000
    app = _app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("C")
        await until(pilot, lambda: bool(children) and children[0].pid is not None)
        app.exit()
    pid = children[0].pid
    assert pid is not None
    await until_gone(pid)


async def until_gone(pid: int) -> None:
    for _ in range(200):
        if gone(pid):
            return
        await asyncio.sleep(0.05)
    assert gone(pid)


async def test_an_app_given_a_clock_checks_on_a_thread(
    world: World, children: list[ChildRun]
) -> None:
    home = Home.load(world.root)
    app = KutuiApp(
        home,
        vault=home.open_vault(passphrase=Secret(PASSPHRASE)),
        watch_tty=False,
        clock=current().shifted(timedelta(0)),  # not the process clock: the thread path
    )
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("C")
        await until(pilot, lambda: not main.checking)
    assert children == []
