"""``kutui rotate`` on a terminal: the master flow with its prompts (getpass for credentials)."""

from __future__ import annotations

import builtins
import getpass
from collections.abc import Iterator

import pytest

from kutui import cli
from kutui.model import Slot, passphrase_problem
from tests.rotation.world import MKEY_ID, World, cli_on


def test_master_rotation_on_a_terminal(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    cli_on(world, monkeypatch, tty=True)
    typed: Iterator[str] = iter(
        [web.api_key, web.api_secret, "WrongPass-1", web.api_key, web.api_secret, "NewMasterPass-9"]
    )
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    questions: list[str] = []

    def answer(question: str = "") -> str:
        questions.append(question)
        if len(questions) == 2:  # the revoke step: the user deletes the old key in the web UI
            world.sim.remove_key(world.old_master.api_key)
        return "y"

    monkeypatch.setattr(builtins, "input", answer)
    code = cli.main(["--home", str(world.root), "rotate", "main/trading"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "the passphrase, or the secret it is signed with, is wrong" in out
    assert "API Management" in out
    assert "finished" in out
    slots = world.vault.data.slots(MKEY_ID)
    assert set(slots) == {Slot.CURRENT}
    assert slots[Slot.CURRENT].api_key.reveal() == web.api_key
    for value in (web.api_key, web.api_secret, "WrongPass-1", "NewMasterPass-9"):
        assert value not in out + err
    # The create step offers a fresh passphrase for KuCoin's form each time it is shown (twice:
    # the first credentials were wrong), and the saved checklist never holds one.
    offered = [
        line.rsplit(": ", 1)[1]
        for line in out.splitlines()
        if line.startswith("Suggested API passphrase (not saved")
    ]
    assert len(offered) == 2 and len(set(offered)) == 2
    assert all(passphrase_problem(p) is None and len(p) == 32 for p in offered)
    saved = b"".join(p.read_bytes() for p in world.root.rglob("*") if p.is_file())
    assert not any(p.encode() in saved for p in offered)
