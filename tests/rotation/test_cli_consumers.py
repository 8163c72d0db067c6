"""Done when 4 through the command line: 'n' at the delete question keeps the old key; a key with a
permission the API cannot set stops until --drop-permission names it; --yes never ticks a
manual consumer."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Iterator

import pytest

from kutui import cli
from kutui.commands import common
from kutui.model import Slot
from tests.rotation.world import SUB_ID, World, cli_on

REF = "main/bot1sub/grid"


@pytest.fixture
def terminal(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CLI on a terminal, talking to the world's simulator; returns the questions asked."""
    cli_on(world, monkeypatch, tty=True)
    return []


def answering(monkeypatch: pytest.MonkeyPatch, questions: list[str], answers: list[str]) -> None:
    given: Iterator[str] = iter(answers)

    def answer(question: str = "") -> str:
        questions.append(question)
        return next(given)

    monkeypatch.setattr(builtins, "input", answer)


def test_n_at_the_delete_question_keeps_the_old_key(
    world: World,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = world.old.credential()
    answering(monkeypatch, terminal, ["y", "y", "n"])  # grid-bot, tax-export, then the delete
    code = cli.main(["--home", str(world.root), "rotate", REF])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert terminal[-1] == f"Delete the old key …{old.api_key.reveal()[-4:]} now? [y/N] "
    world.restart()
    (checklist,) = world.store.list_open()
    # The question named both keys and every consumer's state.
    assert f"…{checklist.old_fingerprint}" in out and f"…{checklist.new_fingerprint}" in out
    assert "grid-bot (manual): ticked" in out and "tax-export (manual): ticked" in out
    assert "was not deleted; it still works" in err
    assert asyncio.run(world.works(old))
    assert world.vault.data.get(SUB_ID, Slot.PREVIOUS) == old
    assert checklist.current == "revoke-old"

    answering(monkeypatch, terminal, ["y"])
    assert cli.main(["--home", str(world.root), "rotate", REF, "--resume"]) == 0
    world.restart()
    assert asyncio.run(world.dead(old))


def test_a_permission_the_api_cannot_set_needs_drop_permission(
    world: World,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(common, "is_tty", lambda stream=None: False)
    world.sim.key(world.old.api_key).permission = "General,Spot,Withdrawal"  # type: ignore[union-attr]
    code = cli.main(["--home", str(world.root), "rotate", REF, "--yes"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Withdrawal" in out and "--drop-permission Withdrawal" in out + err
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]  # nothing created

    # --yes alone does not tick manual consumers either: they are named.
    code = cli.main(
        ["--home", str(world.root), "rotate", REF, "--resume", "--yes"]
        + ["--drop-permission", "Withdrawal"]
    )
    out, err = capsys.readouterr()
    assert code == 2 and "waiting for a person to switch grid-bot, tax-export" in err
    assert "dropped as you chose (not settable through the API): Withdrawal" in out
    code = cli.main(
        ["--home", str(world.root), "rotate", REF, "--resume", "--yes"]
        + ["--switched", "grid-bot", "--switched", "tax-export"]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    world.restart()
    new = world.vault.data.get(SUB_ID, Slot.CURRENT)
    assert new is not None and asyncio.run(world.works(new))
    key = world.sim.key(new.api_key.reveal())
    assert key is not None and "Withdrawal" not in key.permissions
