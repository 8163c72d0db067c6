"""Remote-side rotation faults not covered by tests/rotation (docs/security.md, "What the tests
try", E).

After each fault the §3.4 invariant must hold: the key's CURRENT credential in the vault works on
KuCoin. Failures are one clear message without a credential; resuming afterwards is possible.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.errors import KutuiError
from kutui.kucoin.client import KucoinClient
from kutui.model import Credential, Slot
from kutui.rotation import session as rs
from kutui.rotation.checklist import State, StepStatus
from kutui.rotation.engine import ManualInput
from kutui.rotation.session import Session
from tests.rotation.world import API_URL, SUB_ID, World, make_world

RID = "260101000000-fa17"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("KUTUI_HOME", str(tmp_path / "home"))
    return make_world(tmp_path / "home")


async def to_switch_consumers(world: World) -> Session:
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    step = await session.run()
    assert step is not None and step.id == "switch-consumers"
    return session


async def switch_all(session: Session) -> object:
    await session.submit(ManualInput(consumer="grid-bot"))
    step = await session.submit(ManualInput(consumer="tax-export"))
    if step is not None and session.checklist.awaiting == "revoke-old":
        return await session.submit(ManualInput(confirm=True))  # the user confirms the delete
    return step


async def assert_invariant(world: World) -> Credential:
    current = world.vault.data.get(SUB_ID, Slot.CURRENT)
    assert current is not None
    assert await world.works(current), "the CURRENT credential does not work on KuCoin"
    return current


def assert_clean(text: str, *creds: Credential | None) -> None:
    for cred in creds:
        if cred is not None:
            for value in (cred.api_key, cred.api_secret, cred.passphrase):
                assert value.reveal() not in text


async def test_old_key_already_deleted_remotely_finishes(world: World) -> None:
    session = await to_switch_consumers(world)
    world.sim.remove_key(world.old.api_key)  # someone deleted it in KuCoin's web UI
    assert await switch_all(session) is None
    current = await assert_invariant(world)
    assert current.api_key.reveal() != world.old.api_key
    assert set(world.vault.data.slots(SUB_ID)) == {Slot.CURRENT}
    checklist = world.store.load(RID)
    assert checklist.state is State.FINISHED
    assert any("already gone" in s.evidence for s in checklist.steps)


async def test_new_key_deleted_remotely_before_promote_keeps_the_old_key(world: World) -> None:
    old = world.old.credential()
    session = await to_switch_consumers(world)
    pending = world.vault.data.get(SUB_ID, Slot.PENDING)
    assert pending is not None
    world.sim.remove_key(pending.api_key.reveal())
    try:
        outcome = await switch_all(session)
    except KutuiError as exc:
        assert_clean(str(exc), old, pending)
        outcome = None
    current = await assert_invariant(world)
    assert current == old or await world.works(current)
    checklist = world.store.load(RID)
    if checklist.state is State.FINISHED:  # only acceptable if it noticed and made a new key
        assert current.api_key != pending.api_key
    else:
        step = checklist.current_step()
        assert step is not None and step.status in (StepStatus.FAILED, StepStatus.PENDING)
        assert_clean(step.note + step.evidence, old, pending)
    del outcome


async def test_wrong_stored_old_passphrase_fails_the_delete_clearly(world: World) -> None:
    """The sub-key DELETE carries the old key's passphrase; KuCoin answers 400004 if it is wrong."""
    session = await to_switch_consumers(world)
    world.sim.key(world.old.api_key).passphrase = "Changed-in-web-UI-1"  # type: ignore[union-attr]
    try:
        await switch_all(session)
    except KutuiError as exc:
        assert_clean(str(exc), world.old.credential())
    current = await assert_invariant(world)
    assert current.api_key.reveal() != world.old.api_key  # promoted before the revoke
    checklist = world.store.load(RID)
    assert checklist.state is not State.FINISHED
    step = checklist.current_step()
    assert step is not None and step.id.startswith(("revoke", "delete", "verify-old"))
    assert step.note or step.evidence
    assert_clean(step.note + step.evidence, world.old.credential(), current)
    assert "Changed-in-web-UI-1" not in step.note + step.evidence


async def test_resume_from_another_host_keeps_a_working_key(world: World) -> None:
    """The new key is bound to 10.1.2.3; the rotation resumes from 192.0.2.7 (400006 there)."""
    await to_switch_consumers(world)
    world.restart()
    elsewhere = KucoinClient(API_URL, transport=world.sim.transport(client_ip="192.0.2.7"))
    session = rs.resume(world.context(remote=elsewhere), SUB_ID)
    try:
        await switch_all(session)
    except KutuiError as exc:
        assert "400006" in str(exc) or "IP" in str(exc) or "whitelist" in str(exc)
    finally:
        await elsewhere.aclose()
    await assert_invariant(world)
    checklist = world.store.load(RID)
    if checklist.state is not State.FINISHED:
        step = checklist.current_step()
        assert step is not None and (step.note or step.evidence)


async def test_verify_fails_while_the_whitelist_propagates_then_resume_succeeds(
    world: World,
) -> None:
    """KuCoin may deny a brand-new whitelisted key for a while: verify fails, nothing is lost."""
    world.sim.set_fault(2001, "5xx")  # the new key's account answers 5xx during verification
    session = rs.start(world.context(), world.key(), rotation_id=RID)
    try:
        step = await session.run()
    except KutuiError:
        step = None
    world.sim.set_fault(2001, "")
    await assert_invariant(world)
    assert world.vault.data.get(SUB_ID, Slot.CURRENT) == world.old.credential()
    if step is not None and step.id != "switch-consumers":
        session = rs.resume(world.context(), SUB_ID)
        step = await session.run()
    assert step is None or step.id == "switch-consumers"
