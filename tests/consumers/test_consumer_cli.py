"""``kutui consumer``, ``kutui deliver`` and ``kutui key show`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kutui.rotation.store import RotationStore
from kutui.rotation.sub_flow import new_checklist
from tests.rotation.test_cli import OLD, Setup, make_home

REF = "main/bot1sub/grid"


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_home(tmp_path, "http://127.0.0.1:9")  # none of these commands calls KuCoin


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--kind", "envfile"], "needs an absolute --path"),
        (["--kind", "passivbot", "--path", "/tmp/x.json"], "needs --user"),
        (["--kind", "manual", "--reload", "true"], "manual consumer has no"),
        (["--kind", "command"], "needs --command"),
        (["--kind", "envfile", "--path", "/tmp/a.env", "--env-prefix", "BAD-PREFIX"], "env prefix"),
    ],
)
def test_a_bad_consumer_is_one_line_and_exit_2(setup: Setup, argv: list[str], says: str) -> None:
    done = setup.kutui("consumer", "add", REF, "--name", "c", *argv)
    assert done.returncode == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1
    listed = json.loads(setup.kutui("consumer", "list", REF, "--json").stdout)
    assert [c["name"] for c in listed["consumers"]] == ["grid-bot"]  # the note's, nothing added


def test_add_list_deliver_remove(setup: Setup, tmp_path: Path) -> None:
    env = tmp_path / "bot.env"
    assert (
        setup.kutui(
            "consumer", "add", REF, "--name", "env", "--kind", "envfile", "--path", str(env)
        ).returncode
        == 0
    )
    again = setup.kutui("consumer", "add", REF, "--name", "env", "--kind", "manual")
    assert again.returncode == 2 and "already has a consumer" in again.stderr
    delivered = setup.kutui("deliver", REF, "--consumer", "env")
    assert delivered.returncode == 0, delivered.stderr
    assert f"KUCOIN_API_SECRET={OLD[1]}" in env.read_text()
    table = setup.kutui("consumer", "list").stdout
    assert "env" in table and f"delivered …{OLD[0][-4:]}" in table and "grid-bot" in table
    removed = setup.kutui("consumer", "remove", REF, "env")
    assert removed.returncode == 0 and "left as it is" in removed.stderr
    assert env.exists()
    assert setup.kutui("consumer", "remove", REF, "env").returncode == 2


def test_deliver_is_refused_while_a_rotation_is_open(setup: Setup, tmp_path: Path) -> None:
    setup.kutui(
        "consumer", "add", REF, "--name", "env", "--kind", "envfile", "--path", str(tmp_path / "e")
    )
    RotationStore(setup.home / "rotations").save(
        new_checklist("260101000000-0pen", "k-bot", REF, sub_name="bot1sub")
    )
    done = setup.kutui("deliver", REF)
    assert done.returncode == 2 and "open rotation" in done.stderr
    assert not (tmp_path / "e").exists()


def test_key_show_hides_values_unless_revealed_to_a_terminal(setup: Setup) -> None:
    shown = setup.kutui("key", "show", REF)
    assert shown.returncode == 0 and f"…{OLD[0][-4:]}" in shown.stdout
    assert "hidden" in shown.stdout
    for value in OLD:
        assert value not in shown.stdout + shown.stderr
    piped = setup.kutui("key", "show", REF, "--reveal")
    assert piped.returncode == 2 and "not a terminal" in piped.stderr
    assert all(value not in piped.stdout for value in OLD)
    on_purpose = setup.kutui("key", "show", REF, "--reveal", "--to-pipe", "--json")
    doc = json.loads(on_purpose.stdout)
    assert (doc["api_key"], doc["api_secret"], doc["passphrase"]) == OLD
    pending = setup.kutui("key", "show", REF, "--pending")
    assert pending.returncode == 2 and "no new (PENDING) key" in pending.stderr


def test_a_refused_target_stops_rotate_yes_with_the_reason(setup: Setup, tmp_path: Path) -> None:
    """--yes confirms only what kutui verified: a target it could not write stops the rotation
    before anything is deleted (here before anything is even sent: the simulator is not there)."""
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    (tmp_path / "link.env").symlink_to(real)
    setup.kutui("consumer", "remove", REF, "grid-bot")
    setup.kutui(
        "consumer",
        "add",
        REF,
        "--name",
        "env",
        "--kind",
        "envfile",
        "--path",
        str(tmp_path / "link.env"),
    )
    done = setup.kutui("deliver", REF)
    assert done.returncode == 1 and "symbolic link" in done.stdout
    assert real.read_text() == "A=1\n"
