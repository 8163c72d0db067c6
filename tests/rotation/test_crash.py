"""Crash the rotation at every boundary (every checklist save, every vault write, before and after
every KuCoin request, including a create whose answer never got saved), reload everything from disk
and resume or abort. KuCoin (the simulator) outlives each "process".

A crash is a ``BaseException`` raised from the instrumentation: nothing in kutui catches it, so no
clean-up code runs, exactly as with a killed process; then every in-memory object is thrown away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.errors import RotationError
from kutui.kucoin.client import KucoinClient
from kutui.model import Credential, Slot
from kutui.rotation import session as rs
from kutui.rotation.checklist import Checklist, State
from kutui.rotation.engine import ManualInput
from kutui.store.vault import Vault, VaultData
from tests.rotation.world import SUB_ID, World, make_world

T = TypeVar("T")
RID = "260101000000-c0de"


class Crash(BaseException):
    pass


class Chaos:
    """Counts events across restarts; raises ``Crash`` at the chosen event numbers."""

    def __init__(self, crash_at: set[int]) -> None:
        self.crash_at = crash_at
        self.n = 0
        self.labels: list[str] = []

    def tick(self, label: str) -> None:
        self.n += 1
        self.labels.append(label)
        if self.n in self.crash_at:
            raise Crash(f"#{self.n} {label}")


class ChaosRemote:
    def __init__(self, real: KucoinClient, chaos: Chaos) -> None:
        self.real = real
        self.chaos = chaos

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.real, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.chaos.tick(f"{name}:sent")
            result = await method(*args, **kwargs)
            # Crashing here loses the answer: for create, the secret is gone for good.
            self.chaos.tick(f"{name}:answered")
            return result

        return call


class ChaosVault:
    def __init__(self, real: Vault, chaos: Chaos) -> None:
        self.real = real
        self.chaos = chaos

    @property
    def data(self) -> VaultData:
        return self.real.data

    def update(self, fn: Callable[[VaultData], T]) -> T:
        result = self.real.update(fn)
        self.chaos.tick("vault:written")
        return result


async def drive(
    world: World,
    chaos: Chaos,
    *,
    abort_after_crash: bool = False,
    invariant: Callable[[World], Awaitable[None]] | None = None,
    answer: Callable[[Checklist], ManualInput] | None = None,
) -> list[str]:
    """Run the rotation to the end through crashes; returns the crash labels. ``invariant`` is
    checked after every restart; ``answer`` gives each manual step its input (a confirm)."""
    crashes: list[str] = []
    for _ in range(200):
        world.restart()
        await (invariant or check_a_verified_key_works)(world)
        ctx = world.context(on_save=chaos.tick)
        ctx.remote = ChaosRemote(world.client(), chaos)
        ctx.vault = ChaosVault(world.vault, chaos)
        try:
            with ctx.store.key_lock(SUB_ID):
                if crashes and abort_after_crash:
                    try:
                        session = rs.resume(ctx, SUB_ID)
                    except RotationError:
                        return crashes  # crashed before the checklist existed
                    try:
                        await session.abort("crash test")
                    except RotationError as exc:
                        assert "delete has started" in str(exc)
                        abort_after_crash = False
                        continue
                    return crashes
                if ctx.store.open_for_key(SUB_ID) is not None:
                    session = rs.resume(ctx, SUB_ID)
                elif not ctx.store.all():
                    session = rs.start(ctx, world.key(), rotation_id=RID)
                else:
                    return crashes
                step = await session.run()
                while step is not None:
                    # Manual consumers are ticked, and the old key's delete is confirmed.
                    assert step.id in ("switch-consumers", "revoke-old"), (step.id, step.note)
                    inputs = answer(session.checklist) if answer else ManualInput(confirm=True)
                    step = await session.submit(inputs)
                return crashes
        except Crash as crash:
            crashes.append(str(crash))
    raise AssertionError("the rotation never finished")


async def check_a_verified_key_works(world: World) -> None:
    """Invariant 1: the CURRENT credential works (it is the old key or the verified new one)."""
    assert await world.works(world.vault.data.get(SUB_ID, Slot.CURRENT))


async def check_finished(world: World, old: Credential) -> None:
    world.restart()
    checklist = world.store.load(RID)
    assert checklist.state is State.FINISHED, checklist.current
    slots = world.vault.data.slots(SUB_ID)
    assert set(slots) == {Slot.CURRENT}
    new = slots[Slot.CURRENT]
    assert new != old
    assert await world.works(new)
    assert await world.dead(old)
    # No orphan: the sub-account holds exactly the key kutui stores.
    assert [k.api_key for k in world.sub_keys()] == [new.api_key.reveal()]


async def check_aborted_or_untouched(world: World, old: Credential) -> None:
    world.restart()
    assert world.vault.data.slots(SUB_ID) == {Slot.CURRENT: old}
    assert [k.api_key for k in world.sub_keys()] == [old.api_key.reveal()]
    assert not world.store.list_open()


async def clean_run_labels(tmp_path: Path) -> list[str]:
    world = make_world(tmp_path / "clean")
    chaos = Chaos(set())
    assert await drive(world, chaos) == []
    await check_finished(world, world.old.credential())
    return chaos.labels


async def test_crash_at_every_boundary_then_resume(tmp_path: Path) -> None:
    labels = await clean_run_labels(tmp_path)
    assert "create_sub_api_key:answered" in labels
    assert "create:running" in labels and "purge-previous:done" in labels
    for n, label in enumerate(labels, start=1):
        world = make_world(tmp_path / f"crash-{n}")
        chaos = Chaos({n})
        crashes = await drive(world, chaos)
        assert crashes == [f"#{n} {label}"], (n, crashes)
        await check_finished(world, world.old.credential())


async def test_lost_create_answer_is_deleted_and_redone(tmp_path: Path) -> None:
    labels = await clean_run_labels(tmp_path)
    n = labels.index("create_sub_api_key:answered") + 1
    world = make_world(tmp_path / "lost")
    chaos = Chaos({n})
    assert await drive(world, chaos) == [f"#{n} create_sub_api_key:answered"]
    await check_finished(world, world.old.credential())
    create = world.store.load(RID).step("create")
    assert "interrupted create deleted" in create.evidence
    # Two creates reached KuCoin; the orphan was deleted before the second.
    assert labels.count("create_sub_api_key:sent") == 1
    assert chaos.labels.count("create_sub_api_key:sent") == 2


async def test_crash_at_every_boundary_then_abort(tmp_path: Path) -> None:
    labels = await clean_run_labels(tmp_path)
    for n, _label in enumerate(labels, start=1):
        world = make_world(tmp_path / f"abort-{n}")
        old = world.old.credential()
        chaos = Chaos({n})
        await drive(world, chaos, abort_after_crash=True)
        world.restart()
        checklist = world.store.all()
        if checklist and checklist[0].state is State.FINISHED:
            await check_finished(world, old)  # crashed after the delete began: finished instead
        else:
            await check_aborted_or_untouched(world, old)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.sets(st.integers(min_value=1, max_value=60), max_size=6))
def test_any_sequence_of_crashes(
    tmp_path_factory: pytest.TempPathFactory, points: set[int]
) -> None:
    import asyncio

    root = tmp_path_factory.mktemp("hyp")
    world = make_world(root)
    chaos = Chaos(points)
    asyncio.run(drive(world, chaos))
    asyncio.run(check_finished(world, world.old.credential()))
