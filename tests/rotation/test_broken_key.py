"""Rotating a sub-account key whose own credentials fail (issue #14): a wrong stored passphrase
(400004) or a key deleted on KuCoin (400003). The master key looks it up, creates the new key and
deletes the old one; the checklist records why; a broken master key stops with one line."""

from __future__ import annotations

import builtins
import dataclasses
import getpass
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kutui import cli
from kutui.kucoin.client import ClientPool
from kutui.model import Credential, Slot
from kutui.rotation.checklist import Checklist
from kutui.rotation.engine import ManualInput
from kutui.rotation.sub_flow import wants_old_passphrase
from kutui.secret import Secret
from kutui.store.vault import VaultData
from kutui.tui.screens.forms import SecretInput
from kutui.tui.screens.rotation import RotationScreen
from tests.rotation.test_crash import Chaos, drive
from tests.rotation.test_screen import RID as SCREEN_RID
from tests.rotation.test_screen import SIZE, FrozenClock, Host, settle, text_of
from tests.rotation.world import MASTER_ID, MKEY_ID, SUB_ID, World, cli_on, make_world

REF = "main/bot1sub/grid"
WRONG = "WrongPassphrase-1"
BROKEN_LINE = "old key fails its own check (invalid passphrase); using the master key"


def store_wrong_passphrase(world: World, key_id: str = SUB_ID) -> Credential:
    """The vault's copy of the key gets a wrong passphrase (the key on KuCoin is unchanged)."""
    stored = world.vault.data.get(key_id, Slot.CURRENT)
    assert stored is not None
    wrong = dataclasses.replace(stored, passphrase=Secret(WRONG))

    def put(data: VaultData) -> None:
        data.put(key_id, wrong, Slot.CURRENT)

    world.vault.update(put)
    return wrong


def on_a_terminal(
    world: World, monkeypatch: pytest.MonkeyPatch, *, tty: bool, typed: list[str] | None = None
) -> list[str]:
    """``kutui rotate`` in this process against the world's simulator; returns the getpass
    prompts (answered from ``typed``). Every yes/no question is answered yes."""
    cli_on(world, monkeypatch, tty=tty)
    answers: Iterator[str] = iter(typed or [])
    prompts: list[str] = []

    def ask(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", ask)
    monkeypatch.setattr(builtins, "input", lambda question="": "y")
    return prompts


def saved_checklist(world: World) -> dict[str, Any]:
    (path,) = world.store.directory.glob("*.toml")
    return tomllib.loads(path.read_text())


def test_wrong_stored_passphrase_rotates_through_the_master_key(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old_key = world.old.api_key
    store_wrong_passphrase(world)
    # The delete with the stored (wrong) passphrase is refused; the user types the right one.
    prompts = on_a_terminal(world, monkeypatch, tty=True, typed=["OldPassphrase-7"])
    code = cli.main(["--home", str(world.root), "rotate", REF])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert BROKEN_LINE in out
    assert "KuCoin refused to delete the old key …aaaa with the stored passphrase" in out
    assert len(prompts) == 1 and "API passphrase of the old key …aaaa" in prompts[0]
    assert "deleted from bot1sub through the master key" in out
    # KuCoin holds only the new key, and the vault only the new key.
    assert world.sim.key(old_key) is None
    new = world.vault.data.slots(SUB_ID)
    assert set(new) == {Slot.CURRENT}
    assert [k.api_key for k in world.sub_keys()] == [new[Slot.CURRENT].api_key.reveal()]
    doc = saved_checklist(world)
    assert doc["state"] == "finished" and doc["old_key_broken"] == "400004"
    assert doc["uid"] == 2001 and doc["permissions"] == ["General", "Spot"]
    for value in ("OldPassphrase-7", WRONG, new[Slot.CURRENT].api_secret.reveal()):
        assert value not in out + err
    # The typed passphrase served the delete only: no file of the home holds it.
    saved = b"".join(f.read_bytes() for f in world.root.rglob("*") if f.is_file())
    assert b"OldPassphrase-7" not in saved


def test_key_deleted_on_kucoin_rotates_and_records_already_gone(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.sim.remove_key(world.old.api_key)
    prompts = on_a_terminal(world, monkeypatch, tty=False)
    argv = ["--home", str(world.root), "rotate", REF, "--yes"]
    code = cli.main([*argv, "--switched", "grid-bot", "--switched", "tax-export"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert prompts == []
    assert "old key fails its own check (key does not exist); using the master key" in out
    assert "not listed on bot1sub (gone; permissions as kutui last saw them: General,Spot)" in out
    doc = saved_checklist(world)
    assert doc["old_key_broken"] == "400003" and doc["uid"] == 2001
    steps = {s["id"]: s for s in doc["steps"]}
    assert "already gone: not listed on bot1sub" in steps["revoke-old"]["evidence"]
    new = world.vault.data.slots(SUB_ID)
    assert set(new) == {Slot.CURRENT}
    assert [k.api_key for k in world.sub_keys()] == [new[Slot.CURRENT].api_key.reveal()]
    assert [k.permission for k in world.sub_keys()] == ["General,Spot"]


def test_without_a_terminal_the_refused_delete_says_how_to_go_on(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store_wrong_passphrase(world)
    on_a_terminal(world, monkeypatch, tty=False)
    argv = ["--home", str(world.root), "rotate", REF, "--yes"]
    code = cli.main([*argv, "--switched", "grid-bot", "--switched", "tax-export"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "delete needs its API passphrase, typed on a terminal" in err
    assert world.sim.key(world.old.api_key) is not None  # not deleted, new key CURRENT
    # Deleted in KuCoin's web UI meanwhile: the resume sees it gone and finishes.
    world.sim.remove_key(world.old.api_key)
    code = cli.main(["--home", str(world.root), "rotate", REF, "--resume"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert BROKEN_LINE in out  # said again on resume
    assert "already gone: not listed on bot1sub" in out


@pytest.mark.parametrize("how", ["failing", "missing"])
def test_master_key_broken_too_is_one_clear_line(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    store_wrong_passphrase(world)
    if how == "failing":
        store_wrong_passphrase(world, MASTER_ID)  # main/admin: the master key tried first
    else:

        def drop(data: VaultData) -> None:
            data.drop(MASTER_ID, Slot.CURRENT)
            data.drop(MKEY_ID, Slot.CURRENT)

        world.vault.update(drop)
    on_a_terminal(world, monkeypatch, tty=False)
    code = cli.main(["--home", str(world.root), "rotate", REF, "--yes"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    expected = {
        "failing": f"{BROKEN_LINE}, and the master key of main fails too: listing the keys of "
        "sub-account bot1sub: the passphrase, or the secret it is signed with, is wrong",
        "missing": "no master-account key of main is stored",
    }[how]
    assert expected in lines[0]
    assert "kutui key add main/LABEL, then kutui rotate main/bot1sub/grid --resume" in lines[0]
    # Recorded: the plan failed with the same words, and nothing was created on KuCoin.
    plan = {s["id"]: s for s in saved_checklist(world)["steps"]}["plan"]
    assert plan["status"] == "failed" and expected in plan["note"]
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]
    for value in (WRONG, "MasterPass-1"):
        assert value not in out + err


def test_master_flow_broken_key_says_what_to_do(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store_wrong_passphrase(world, MKEY_ID)
    on_a_terminal(world, monkeypatch, tty=False)
    code = cli.main(["--home", str(world.root), "rotate", "main/trading", "--yes"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "the master key …c0de fails its own check (invalid passphrase, 400004)" in out
    assert "KuCoin has no API for master keys" in out
    assert "kutui rotate main/trading --abort" in out


# --------------------------------------------------------------------------- crashes

CRASH_RID = "260101000000-c0de"


def answer_with_passphrase(checklist: Checklist) -> ManualInput:
    """Confirm; once the delete was refused with the stored passphrase, type the right one."""
    if wants_old_passphrase(checklist):
        return ManualInput(confirm=True, passphrase=Secret("OldPassphrase-7"))
    return ManualInput(confirm=True)


async def current_is_old_or_works(world: World) -> None:
    """The invariant when the old key is broken: CURRENT is the old key as stored, or a key that
    works (the verified new one)."""
    current = world.vault.data.get(SUB_ID, Slot.CURRENT)
    assert current is not None
    if current.api_key.reveal() != world.old.api_key:
        assert await world.works(current)


def broken_world(root: Path, how: str) -> tuple[World, Credential]:
    world = make_world(root)
    if how == "deleted":
        world.sim.remove_key(world.old.api_key)
        old = world.old.credential()
    else:
        old = store_wrong_passphrase(world)
    return world, old


async def finished_broken(world: World, old: Credential) -> None:
    world.restart()
    checklist = world.store.load(CRASH_RID)
    assert checklist.state == "finished", checklist.current
    assert checklist.old_key_broken in ("400003", "400004")
    slots = world.vault.data.slots(SUB_ID)
    assert set(slots) == {Slot.CURRENT}
    assert await world.works(slots[Slot.CURRENT])
    assert await world.dead(old)
    assert [k.api_key for k in world.sub_keys()] == [slots[Slot.CURRENT].api_key.reveal()]


@pytest.mark.parametrize("how", ["wrong-passphrase", "deleted"])
async def test_broken_key_crash_at_every_boundary_then_resume(tmp_path: Path, how: str) -> None:
    async def run(world: World, chaos: Chaos) -> list[str]:
        return await drive(
            world, chaos, invariant=current_is_old_or_works, answer=answer_with_passphrase
        )

    world, old = broken_world(tmp_path / "clean", how)
    clean = Chaos(set())
    assert await run(world, clean) == []
    await finished_broken(world, old)
    labels = clean.labels
    assert "sub_api_keys:sent" in labels and "revoke-old:done" in labels
    if how == "wrong-passphrase":
        # The stored passphrase was refused once, then the typed one deleted the key.
        assert labels.count("delete_sub_api_key:sent") == 2
    for n, label in enumerate(labels, start=1):
        world, old = broken_world(tmp_path / f"crash-{n}", how)
        chaos = Chaos({n})
        assert await run(world, chaos) == [f"#{n} {label}"], n
        await finished_broken(world, old)


# --------------------------------------------------------------------------- the screen


def shown(app: Host, widget_id: str) -> bool:
    return bool(app.screen.query_one(widget_id).display)


async def test_pilot_broken_key_shows_the_master_key_standing_in(world: World) -> None:
    store_wrong_passphrase(world)
    pool = ClientPool(transport=world.sim.transport(client_ip="10.1.2.3"))
    app = Host(
        lambda: RotationScreen(
            world.home,
            world.vault,
            SUB_ID,
            pool,
            rotation_id=SCREEN_RID,
            clock=FrozenClock(),
            verify_delays=(0.0,),
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert text_of(app, "#rot-broken") == ""  # not known before the plan runs
        await pilot.press("x")
        await settle(pilot)
        assert text_of(app, "#rot-broken") == BROKEN_LINE
        assert shown(app, "#rot-broken")
        assert "Switch consumers" in text_of(app, "#rot-step-title")
        for _ in range(2):  # tick grid-bot and tax-export
            await pilot.press("d")
            await settle(pilot)
        await pilot.press("d")  # delete the old key: asks first
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "KuCoin refused to delete the old key …aaaa" in text_of(app, "#rot-note")
        assert BROKEN_LINE in text_of(app, "#rot-broken")
        field = app.screen.query_one("#rot-old-passphrase", SecretInput)
        assert shown(app, "#rot-old-passphrase")
        field.value = "OldPassphrase-0"  # a typo: refused, the key stays
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "with the passphrase you typed" in text_of(app, "#rot-note")
        assert world.sim.key(world.old.api_key) is not None
        field.value = "OldPassphrase-7"
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "Rotation finished" in text_of(app, "#rot-step-title")
        assert not shown(app, "#rot-old-passphrase")
        screen_svg = app.export_screenshot()
        for value in ("OldPassphrase-0", "OldPassphrase-7", WRONG):
            assert value not in screen_svg
    await pool.aclose()
    world.restart()
    assert set(world.vault.data.slots(SUB_ID)) == {Slot.CURRENT}
    assert world.sim.key(world.old.api_key) is None


async def test_master_key_failing_at_the_delete_stops_until_it_is_fixed(world: World) -> None:
    from kutui.errors import RotationError
    from kutui.rotation import session as rs

    store_wrong_passphrase(world)
    session = rs.start(world.context(), world.key(), rotation_id=CRASH_RID)
    step = await session.run()
    assert step is not None and step.id == "switch-consumers"
    step = await session.submit(ManualInput(confirm=True))  # both manual consumers ticked
    assert step is not None and step.id == "revoke-old"
    step = await session.submit(ManualInput(confirm=True))  # the stored passphrase is refused
    assert step is not None and wants_old_passphrase(session.checklist)
    # A typed passphrase with an escape sequence is never sent.
    step = await session.submit(ManualInput(confirm=True, passphrase=Secret("Old\x1b[2Jpass")))
    assert step is not None and "contains a control character" in step.note
    assert world.sim.key(world.old.api_key) is not None
    master = world.vault.data.get(MASTER_ID, Slot.CURRENT)
    store_wrong_passphrase(world, MASTER_ID)
    with pytest.raises(RotationError) as caught:
        await session.submit(ManualInput(confirm=True, passphrase=Secret("OldPassphrase-7")))
    assert "and the master key of main fails too" in str(caught.value)
    assert session.checklist.step("revoke-old").status == "failed"
    assert world.sim.key(world.old.api_key) is not None

    def fix(data: VaultData) -> None:
        assert master is not None
        data.put(MASTER_ID, master, Slot.CURRENT)

    world.vault.update(fix)
    world.restart()
    session = rs.resume(world.context(), SUB_ID)
    step = await session.run()  # the stored passphrase is refused again: asks for it
    assert step is not None and wants_old_passphrase(session.checklist)
    assert await session.submit(ManualInput(passphrase=Secret("OldPassphrase-7"))) is None
    assert session.checklist.state == "finished"
    assert world.sim.key(world.old.api_key) is None
