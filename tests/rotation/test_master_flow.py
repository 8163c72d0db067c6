"""The master flow: create and delete happen in KuCoin's web UI (simulated here by adding and
removing keys on the simulator), credentials are typed in, verification is automatic."""

from __future__ import annotations

from kutui.model import Slot
from kutui.rotation import session as rs
from kutui.rotation.checklist import State, StepStatus
from kutui.rotation.engine import ManualInput
from kutui.secret import Secret
from tests.rotation.world import MKEY_ID, World


def typed(api_key: str, secret: str, passphrase: str) -> ManualInput:
    return ManualInput(
        api_key=Secret(api_key), api_secret=Secret(secret), passphrase=Secret(passphrase)
    )


async def test_master_rotation_with_a_wrong_passphrase_typed_first(world: World) -> None:
    old = world.old_master.credential()
    s = rs.start(world.context(), world.key(MKEY_ID), rotation_id="260101000000-aaaa")
    assert s.checklist.flow == "master"
    step = await s.run()
    assert step is not None and step.id == "create"
    assert "API Management" in step.instructions and "General, Spot" in step.instructions
    # The user creates the key in the web UI ...
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    # ... and mistypes its passphrase.
    step = await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-8"))
    assert step is not None and step.id == "create"
    assert step.status is StepStatus.FAILED
    assert "passphrase" in step.note
    assert s.checklist.current == "create"  # the step stays open
    assert world.vault.data.get(MKEY_ID, Slot.CURRENT) == old
    assert await world.works(old)
    # A restart in between changes nothing: the step is still open, the old key still CURRENT.
    world.restart()
    s = rs.resume(world.context(), MKEY_ID)
    assert s.checklist.current == "create"
    step = await s.submit(typed(" " + web.api_key + "\u200b", web.api_secret, "NewMasterPass-9"))
    assert step is not None
    assert step.id == "switch-consumers", step.note
    step = await s.submit(ManualInput(confirm=True))
    assert step is not None and step.id == "revoke-old"
    assert "…" + old.api_key.reveal()[-4:] in step.instructions
    # Confirming before deleting it in the web UI is caught.
    step = await s.submit(ManualInput(confirm=True))
    assert step is not None and step.status is StepStatus.FAILED and "still works" in step.note
    world.sim.remove_key(world.old_master.api_key)
    assert await s.submit(ManualInput(confirm=True)) is None
    assert s.checklist.state is State.FINISHED
    new = world.vault.data.slots(MKEY_ID)
    assert set(new) == {Slot.CURRENT}
    assert new[Slot.CURRENT].api_key.reveal() == web.api_key
    assert await world.works(new[Slot.CURRENT])
    assert world.key(MKEY_ID).fingerprint == web.api_key[-4:]


async def test_master_rotation_refuses_a_key_with_fewer_permissions(world: World) -> None:
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    web = world.sim.add_key(1001, permission="General", passphrase="NewMasterPass-9")
    step = await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-9"))
    assert step is not None and step.status is StepStatus.FAILED
    assert "lacks Spot" in step.note
    assert world.vault.data.get(MKEY_ID, Slot.CURRENT) == world.old_master.credential()


async def test_master_create_rejects_malformed_input_without_saving(world: World) -> None:
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    step = await s.submit(typed("not-hex", "x", "short"))
    assert step is not None and step.status is StepStatus.FAILED
    assert "24 lowercase hex" in step.note
    assert world.vault.data.get(MKEY_ID, Slot.PENDING) is None


async def test_credentials_saved_before_a_crash_are_verified_on_resume(world: World) -> None:
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    # The process died right after saving what the user typed (before the step closed).
    world.vault.update(lambda d: d.put(MKEY_ID, web.credential(), Slot.PENDING))
    world.restart()
    s = rs.resume(world.context(), MKEY_ID)
    step = await s.run()
    assert step is not None and step.id == "switch-consumers"
    assert s.checklist.step("create").status is StepStatus.DONE


async def test_abort_after_a_refused_revoke_confirmation_restores_old_key(world: World) -> None:
    old = world.old_master.credential()
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-9"))
    step = await s.submit(ManualInput(confirm=True))  # consumers
    assert step is not None and step.id == "revoke-old"
    step = await s.submit(ManualInput(confirm=True))  # but the old key was not deleted
    assert step is not None and step.status is StepStatus.FAILED
    summary = await s.abort("keep the old one")
    assert "web UI" in summary  # the user is told to delete the new key there
    assert world.vault.data.slots(MKEY_ID) == {Slot.CURRENT: old}
    assert world.key(MKEY_ID).fingerprint == old.api_key.reveal()[-4:]


async def test_the_old_key_typed_after_a_failed_attempt_is_refused(world: World) -> None:
    old = world.old_master.credential()
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    step = await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-8"))  # mistyped
    assert step is not None and step.status is StepStatus.FAILED
    assert world.vault.data.get(MKEY_ID, Slot.PENDING) is not None  # kept, as typed
    # The user gives up on the new key and pastes the old one (which verifies fine).
    step = await s.submit(
        typed(old.api_key.reveal(), old.api_secret.reveal(), old.passphrase.reveal())
    )
    assert step is not None and step.id == "create" and step.status is StepStatus.FAILED
    assert "old key" in step.note
    slots = world.vault.data.slots(MKEY_ID)
    assert slots[Slot.CURRENT] == old
    assert slots[Slot.PENDING].api_key != old.api_key  # the old key never becomes PENDING
    assert s.checklist.current == "create"


async def test_the_key_before_the_old_one_is_refused(world: World) -> None:
    older = world.sim.add_key(1001, permission="General,Spot", passphrase="OlderMaster-9")
    world.vault.update(lambda d: d.put(MKEY_ID, older.credential(), Slot.PREVIOUS))
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    step = await s.submit(typed(older.api_key, older.api_secret, "OlderMaster-9"))
    assert step is not None and step.status is StepStatus.FAILED
    assert "the key before the old one" in step.note
    assert world.vault.data.get(MKEY_ID, Slot.PENDING) is None


async def test_a_new_key_whose_last_4_characters_match_the_old_one_is_accepted(
    world: World,
) -> None:
    old = world.old_master.credential()
    same_tail = "0" * 20 + old.api_key.reveal()[-4:]  # a fingerprint is for display only
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    web = world.sim.add_key(
        1001, api_key=same_tail, permission="General,Spot", passphrase="NewMasterPass-9"
    )
    step = await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-9"))
    assert step is not None
    assert step.id == "switch-consumers", step.note
    step = await s.submit(ManualInput(confirm=True))
    assert step is not None
    assert step.id == "revoke-old", step.note
    slots = world.vault.data.slots(MKEY_ID)
    assert slots[Slot.CURRENT].api_key.reveal() == same_tail
    assert slots[Slot.PREVIOUS] == old


async def test_a_pending_key_equal_to_current_is_never_adopted_nor_promoted(world: World) -> None:
    """A rotation left by an older kutui with the old key saved as PENDING (the bug this guards)."""
    old = world.old_master.credential()
    s = rs.start(world.context(), world.key(MKEY_ID))
    await s.run()
    world.vault.update(lambda d: d.put(MKEY_ID, old, Slot.PENDING))
    world.restart()
    s = rs.resume(world.context(), MKEY_ID)
    step = await s.run()
    assert step is not None and step.id == "create" and step.status is StepStatus.FAILED
    assert "that is the old key" in step.note
    # Even if the old key got into PENDING after verification, promote refuses it.
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    step = await s.submit(typed(web.api_key, web.api_secret, "NewMasterPass-9"))
    assert step is not None
    assert step.id == "switch-consumers", step.note
    world.vault.update(lambda d: d.put(MKEY_ID, old, Slot.PENDING))
    world.restart()
    s = rs.resume(world.context(), MKEY_ID)
    step = await s.submit(ManualInput(confirm=True))
    assert step is not None and step.id == "promote" and step.status is StepStatus.FAILED
    assert "the PENDING key is the CURRENT key" in step.note
    assert world.vault.data.get(MKEY_ID, Slot.CURRENT) == old
    assert world.vault.data.get(MKEY_ID, Slot.PREVIOUS) is None
