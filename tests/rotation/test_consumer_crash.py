"""Done when 2 and 4: a rotation with automatic consumers survives a crash at every step boundary
and in the middle of delivering, and every consumer always holds a key that works; the delete
waits for a confirmation, permissions the API cannot set stop the plan, an abort writes the old
key back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kutui.consumers.deliver import deliver, read_target
from kutui.model import (
    Consumer,
    ConsumerKind,
    Credential,
    Delivery,
    DeliveryStatus,
    Slot,
    now_utc,
)
from kutui.rotation import session as rs
from kutui.rotation.checklist import State
from kutui.rotation.engine import ManualInput
from kutui.secret import Secret
from tests.rotation.world import SUB_ID, World, make_world

RID = "260101000000-c0de"


class Crash(Exception):
    pass


def declare(world: World, bots: Path) -> list[Consumer]:
    bots.mkdir(exist_ok=True)
    (bots / "cfg.json").write_text(json.dumps({"dry_run": True, "exchange": {"name": "kucoin"}}))
    (bots / "api-keys.json").write_text(json.dumps({"other": {"exchange": "bybit", "key": "x"}}))
    consumers = [
        Consumer(SUB_ID, "env", ConsumerKind.ENVFILE, target=str(bots / "grid.env")),
        Consumer(SUB_ID, "ft", ConsumerKind.FREQTRADE, target=str(bots / "cfg.json")),
        Consumer(
            SUB_ID, "pb", ConsumerKind.PASSIVBOT, target=str(bots / "api-keys.json"), user="u1"
        ),
    ]
    for consumer in consumers:
        world.home.put_consumer(consumer)
        # Set up as 'kutui deliver' does: each bot runs on the old key before the rotation.
        assert deliver(consumer, world.old.credential(), now_utc()).status == "delivered"
    return consumers


class CrashingLog:
    """The home as the rotation's consumer port, crashing at the n-th recorded delivery."""

    def __init__(self, world: World, chaos: Chaos) -> None:
        self.world, self.chaos = world, chaos

    def consumers(self, key_id: str | None = None) -> list[Consumer]:
        return self.world.home.consumers(key_id)

    def record_delivery(self, key_id: str, name: str, delivery: Delivery) -> bool:
        self.chaos.tick(f"record:{name}:{delivery.status}")
        return self.world.home.record_delivery(key_id, name, delivery)


class Chaos:
    def __init__(self, crash_at: int) -> None:
        self.crash_at, self.count = crash_at, 0
        self.labels: list[str] = []

    def tick(self, label: str) -> None:
        self.labels.append(label)
        self.count += 1
        if self.count == self.crash_at:
            raise Crash(label)


async def every_consumer_holds_a_working_key(world: World, consumers: list[Consumer]) -> None:
    for consumer in consumers:
        values = read_target(consumer)
        if values is None:  # not delivered yet: the bot still runs on what it had (the old key)
            continue
        key, secret, passphrase = (str(v) for v in values)
        cred = Credential(Secret(key), Secret(secret), Secret(passphrase))
        assert await world.works(cred), (consumer.name, "holds a key that does not work")


async def drive(world: World, consumers: list[Consumer], chaos: Chaos) -> list[str]:
    crashes: list[str] = []
    for _ in range(50):
        world.restart()
        await every_consumer_holds_a_working_key(world, consumers)
        ctx = world.context(on_save=chaos.tick)
        ctx.consumers = CrashingLog(world, chaos)
        try:
            with ctx.store.key_lock(SUB_ID):
                if ctx.store.open_for_key(SUB_ID) is not None:
                    session = rs.resume(ctx, SUB_ID)
                elif not ctx.store.all():
                    session = rs.start(ctx, world.key(), rotation_id=RID)
                else:
                    return crashes
                step = await session.run()
                while step is not None:
                    assert step.id == "revoke-old", (step.id, step.note)
                    await every_consumer_holds_a_working_key(world, consumers)
                    step = await session.submit(ManualInput(confirm=True))
                return crashes
        except Crash as crash:
            crashes.append(str(crash))
    raise AssertionError("the rotation never finished")


async def finished_everywhere(world: World, consumers: list[Consumer]) -> None:
    world.restart()
    assert world.store.load(RID).state is State.FINISHED
    new = world.vault.data.get(SUB_ID, Slot.CURRENT)
    assert new is not None and await world.works(new)
    assert await world.dead(world.old.credential())
    values = (new.api_key.reveal(), new.api_secret.reveal(), new.passphrase.reveal())
    for consumer in consumers:
        assert read_target(consumer) == values, consumer.name
    for record in world.home.consumers(SUB_ID):
        assert record.last_delivery is not None
        assert record.last_delivery.status is DeliveryStatus.DELIVERED
        assert record.last_delivery.fingerprint == values[0][-4:]


async def test_clean_run_delivers_to_every_consumer(tmp_path: Path) -> None:
    world = make_world(tmp_path / "home", consumers=())
    consumers = declare(world, tmp_path / "bots")
    chaos = Chaos(0)
    assert await drive(world, consumers, chaos) == []
    await finished_everywhere(world, consumers)
    assert chaos.labels.count("switch-consumers:delivered") == 3


async def test_a_crash_at_every_point_resumes_to_the_end(tmp_path: Path) -> None:
    clean = make_world(tmp_path / "clean", consumers=())
    chaos = Chaos(0)
    await drive(clean, declare(clean, tmp_path / "clean-bots"), chaos)
    points = len(chaos.labels)
    # Between steps, between two deliveries, and inside one (after its write-ahead record).
    assert "switch-consumers:delivered" in chaos.labels and "record:ft:delivering" in chaos.labels
    for n in range(1, points + 1):
        world = make_world(tmp_path / f"h{n}", consumers=())
        consumers = declare(world, tmp_path / f"b{n}")
        crashes = await drive(world, consumers, Chaos(n))
        assert len(crashes) == 1, (n, crashes)
        await finished_everywhere(world, consumers)


async def test_the_delete_waits_for_a_confirmation_naming_both_keys(world: World) -> None:
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    await session.run()
    await session.submit(ManualInput(consumer="grid-bot"))
    step = await session.submit(ManualInput(consumer="tax-export"))
    assert step is not None and step.id == "revoke-old"
    checklist = session.checklist
    assert checklist.awaiting == "revoke-old"
    assert f"…{checklist.old_fingerprint}" in step.note
    assert f"…{checklist.new_fingerprint}" in step.note
    assert "grid-bot (manual): ticked" in step.note
    # Run again without the confirmation (what "Run" or a resume does): still asks.
    assert await session.run() is not None
    assert await world.works(world.old.credential())
    assert await session.submit(ManualInput(confirm=True)) is None
    assert await world.dead(world.old.credential())


async def test_the_grace_period_waits_before_the_delete(world: World) -> None:
    waited: list[float] = []
    ctx = world.context()
    ctx.delete_grace = 600

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    ctx.sleep = sleep
    session = rs.start(ctx, world.key(), rotation_id=RID)
    await session.run()
    await session.submit(ManualInput(confirm=True))
    assert await session.submit(ManualInput(confirm=True)) is None
    assert waited and 590 < waited[-1] <= 600


async def test_permissions_the_api_cannot_set_stop_the_plan(world: World) -> None:
    world.sim.key(world.old.api_key).permission = "General,Spot,Withdrawal"  # type: ignore[union-attr]
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.id == "plan" and session.checklist.awaiting == "plan"
    assert "Withdrawal" in step.note and "--drop-permission Withdrawal" in step.note
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]  # nothing created
    # The explicit choice (kutui rotate --drop-permission Withdrawal) lets it go on.
    session.drop_permissions(["Withdrawal"])
    step = await session.run()
    assert step is not None and step.id == "switch-consumers"
    assert "dropped as you chose" in session.checklist.step("plan").evidence
    assert "Withdrawal" not in session.checklist.permissions


async def test_abort_after_delivery_writes_the_old_key_back(tmp_path: Path) -> None:
    world = make_world(tmp_path / "home", consumers=())
    consumers = declare(world, tmp_path / "bots")
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.id == "revoke-old"  # delivered, promoted, asking
    pending_fp = session.checklist.new_fingerprint
    assert all(str(read_target(c)[0]).endswith(pending_fp) for c in consumers)  # type: ignore[index]
    summary = await session.abort("changed my mind")
    old = world.old.credential()
    values = (old.api_key.reveal(), old.api_secret.reveal(), old.passphrase.reveal())
    for consumer in consumers:
        assert read_target(consumer) == values
    assert "written back to env" in summary
    assert await world.works(old)
    assert world.vault.data.slots(SUB_ID) == {Slot.CURRENT: old}


async def test_a_refusing_target_stops_the_switch_and_keeps_the_old_key(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path / "home", consumers=())
    bots = tmp_path / "bots"
    bots.mkdir()
    (bots / "real.env").write_text("A=1\n")
    (bots / "link.env").symlink_to(bots / "real.env")
    world.home.put_consumer(
        Consumer(SUB_ID, "linked", ConsumerKind.ENVFILE, target=str(bots / "link.env"))
    )
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.id == "switch-consumers" and step.status == "failed"
    assert "symbolic link" in step.note
    assert (bots / "real.env").read_text() == "A=1\n"
    assert world.vault.data.get(SUB_ID, Slot.CURRENT) == world.old.credential()


@pytest.mark.parametrize("kind", ["freqtrade", "passivbot"])
async def test_another_exchanges_entry_is_refused(tmp_path: Path, kind: str) -> None:
    world = make_world(tmp_path / "home", consumers=())
    path = tmp_path / "cfg.json"
    doc = {"exchange": {"name": "binance"}} if kind == "freqtrade" else {"u1": {"exchange": "okx"}}
    path.write_text(json.dumps(doc))
    world.home.put_consumer(
        Consumer(
            SUB_ID,
            "c",
            ConsumerKind(kind),
            target=str(path),
            user="u1" if kind == "passivbot" else "",
        )
    )
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.status == "failed" and "not kucoin" in step.note
    assert json.loads(path.read_text()) == doc


async def to_delete_question(world: World, consumers: list[Consumer]) -> None:
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.id == "revoke-old"


async def abort_with_crash(world: World, chaos: Chaos) -> bool:
    """Abort; True when it crashed on the way."""
    world.restart()
    ctx = world.context(on_save=chaos.tick)
    ctx.consumers = CrashingLog(world, chaos)
    try:
        await rs.resume(ctx, SUB_ID).abort("crash test")
    except Crash:
        return True
    return False


@pytest.mark.parametrize("then", ["abort", "resume"])
async def test_a_crash_during_an_abort_leaves_every_consumer_a_working_key(
    tmp_path: Path, then: str
) -> None:
    clean = make_world(tmp_path / "clean", consumers=())
    await to_delete_question(clean, declare(clean, tmp_path / "clean-bots"))
    chaos = Chaos(0)
    assert not await abort_with_crash(clean, chaos)
    for n in range(1, len(chaos.labels) + 1):
        world = make_world(tmp_path / f"h{n}", consumers=())
        consumers = declare(world, tmp_path / f"b{n}")
        await to_delete_question(world, consumers)
        assert await abort_with_crash(world, Chaos(n)), n
        world.restart()
        await every_consumer_holds_a_working_key(world, consumers)
        old = world.old.credential()
        values = (old.api_key.reveal(), old.api_secret.reveal(), old.passphrase.reveal())
        if world.store.open_for_key(SUB_ID) is None:  # died after the abort was saved
            assert world.store.load(RID).state is State.ABORTED
            assert all(read_target(c) == values for c in consumers), n
            continue
        if then == "abort":
            assert not await abort_with_crash(world, Chaos(0))
            assert all(read_target(c) == values for c in consumers), n
            assert await world.works(old)
        else:
            ctx = world.context()
            session = rs.resume(ctx, SUB_ID)
            step = await session.run()
            while step is not None:
                step = await session.submit(ManualInput(confirm=True))
            await finished_everywhere(world, consumers)
