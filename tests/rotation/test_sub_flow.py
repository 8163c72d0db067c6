"""The sub-account flow against the in-process simulator, driven through ``Session``."""

from __future__ import annotations

import tomllib

from kutui.model import Slot
from kutui.rotation import session as rs
from kutui.rotation.checklist import State, StepStatus
from kutui.rotation.engine import ManualInput
from tests.rotation.world import SUB_ID, World


async def test_sub_rotation_end_to_end(world: World) -> None:
    old_cred = world.old.credential()
    s = rs.start(world.context(), world.key(), rotation_id="260101000000-abcd")
    step = await s.run()
    assert step is not None and step.id == "switch-consumers"
    assert "grid-bot" in step.note and "tax-export" in step.note
    # Until consumers are switched, the old key stays CURRENT and working.
    assert world.vault.data.get(SUB_ID, Slot.CURRENT) == old_cred
    assert await world.works(world.vault.data.get(SUB_ID, Slot.PENDING))
    step = await s.submit(ManualInput(consumer="grid-bot"))
    assert step is not None and step.id == "switch-consumers"
    assert step.status is StepStatus.PENDING
    step = await s.submit(ManualInput(consumer="tax-export"))
    # The old key is deleted only once the user confirms, told both keys and each consumer.
    assert step is not None and step.id == "revoke-old" and step.status is StepStatus.PENDING
    assert world.old.api_key[-4:] in step.note and "tax-export (manual): ticked" in step.note
    assert await world.works(old_cred)
    assert await s.submit(ManualInput(confirm=True)) is None

    new_cred = world.vault.data.get(SUB_ID, Slot.CURRENT)
    assert new_cred is not None and new_cred != old_cred
    assert await world.works(new_cred)
    assert await world.dead(old_cred)
    assert set(world.vault.data.slots(SUB_ID)) == {Slot.CURRENT}
    assert [k.api_key for k in world.sub_keys()] == [new_cred.api_key.reveal()]
    key = world.key()
    assert key.fingerprint == new_cred.api_key.reveal()[-4:]

    path = world.store.path_for("260101000000-abcd")
    doc = tomllib.loads(path.read_text())
    assert doc["state"] == State.FINISHED
    for row in doc["steps"]:
        assert row["status"] == "done", row
        assert row["started_at"] <= row["done_at"]
        assert row["evidence"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    for cred in (old_cred, new_cred):
        for value in (cred.api_key, cred.api_secret, cred.passphrase):
            assert value.reveal() not in text


async def test_second_rotation_of_same_key_is_refused(world: World) -> None:
    rs.start(world.context(), world.key())
    import pytest

    from kutui.errors import RotationError

    with pytest.raises(RotationError, match="already has an open rotation"):
        rs.start(world.context(), world.key())
    with (
        world.store.key_lock(SUB_ID),
        pytest.raises(RotationError, match="another kutui"),
        world.store.key_lock(SUB_ID),
    ):
        pass


async def test_abort_before_promote_deletes_new_key(world: World) -> None:
    old_cred = world.old.credential()
    s = rs.start(world.context(), world.key())
    await s.run()
    assert len(world.sub_keys()) == 2
    await s.abort("changed my mind")
    assert s.checklist.state is State.ABORTED
    assert world.vault.data.slots(SUB_ID) == {Slot.CURRENT: old_cred}
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]
    assert await world.works(old_cred)


async def test_abort_after_promote_puts_old_key_back(world: World) -> None:
    old_cred = world.old.credential()
    world.home.update_registry(lambda r: setattr(r.key_by_id(SUB_ID).note, "consumers", ()))  # type: ignore[union-attr]
    s = rs.start(world.context(), world.key())
    await s.run()
    s.checklist.consumers = ()
    step = await s.engine.run_current(ManualInput(confirm=True))
    assert step is not None and step.status is StepStatus.DONE
    step = await s.engine.run_current()  # promote only
    assert step is not None and step.id == "promote"
    assert world.vault.data.get(SUB_ID, Slot.PREVIOUS) == old_cred
    await s.abort("rollback")
    assert world.vault.data.slots(SUB_ID) == {Slot.CURRENT: old_cred}
    assert world.key().fingerprint == world.old.api_key[-4:]
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]


async def test_unknown_whitelist_is_asked_for_never_dropped(world: World) -> None:
    """KuCoin shows the old key's whitelist masked: the rotation stops at plan until the full
    list is given, so a key bound to IPs is never replaced by an unbound one."""
    import pytest

    from kutui.errors import RotationError

    world.home.update_registry(lambda r: setattr(r.key_by_id(SUB_ID), "ip_whitelist_seen", ""))
    s = rs.start(world.context(), world.key())
    step = await s.run()
    assert step is not None and step.id == "plan" and step.status is StepStatus.FAILED
    assert "bound to 1 IP(s)" in step.note and "--ip-whitelist" in step.note
    assert world.vault.data.get(SUB_ID, Slot.PENDING) is None
    assert len(world.sub_keys()) == 1
    with pytest.raises(RotationError, match="not an IP"):
        s.set_ip_whitelist("10.1.2.300")
    s.set_ip_whitelist("10.1.2.3")
    step = await s.run()
    assert step is not None and step.id == "switch-consumers"
    new = [k for k in world.sub_keys() if k.api_key != world.old.api_key]
    assert [k.ip_whitelist for k in new] == [("10.1.2.3",)]
    with pytest.raises(RotationError, match="fixed"):
        s.set_ip_whitelist("10.0.0.1")


def test_whitelist_rules() -> None:
    from kutui.rotation.sub_flow import ip_whitelist_problem

    assert ip_whitelist_problem("", "") is None
    assert ip_whitelist_problem("10.0.0.1, 10.0.0.0/8", "10.**.1,10.**.0/8") is None
    assert ip_whitelist_problem("10.0.0.1", "") is None  # tightening is fine
    assert "masked" in (ip_whitelist_problem("", "10.**.1") or "")
    assert "not 1" in (ip_whitelist_problem("10.0.0.1", "10.**.1,10.**.2") or "")
    assert "at most 20" in (
        ip_whitelist_problem(",".join(f"10.0.0.{i}" for i in range(21)), "") or ""
    )
