"""Review findings for kutui.cli: end of input at a prompt (Ctrl-D) is one line and exit 2."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

import kutui.commands.common as common
from kutui.model import KeyRef
from kutui.store.home import Home
from tests.cli.conftest import Cli, credentials_stdin


def test_ctrl_d_at_a_confirmation_is_one_line_and_changes_nothing(
    cli: Cli, vault_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    monkeypatch.setattr(common, "is_tty", lambda stream=None: True)
    result = cli("key", "remove", "main/bot1")  # stdin is empty: input() meets end of file
    assert result.code == 2, result.err
    assert result.err.strip().splitlines()[-1] == "kutui: stopped: no answer (end of input)"
    assert "unexpected" not in result.err and "Traceback" not in result.err
    assert Home.load(vault_home).registry().key(KeyRef("main", "", "bot1")) is not None


def test_ctrl_d_at_a_passphrase_prompt_is_one_line(
    home: Path,
    vault_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kutui.cli import main

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", eof)
    monkeypatch.setattr(common, "is_tty", lambda stream=None: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(["--home", str(home), "key", "add", "main/bot1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "end of input" in err and "unexpected" not in err


def test_piped_credentials_on_a_terminal_ask_the_vault_passphrase_there(
    home: Path,
    vault_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`printf 'KEY\\nSECRET\\nPASS\\n' | kutui key add main/bot1` typed in a terminal: getpass
    asks on /dev/tty, so the user must not be told to "use a terminal"."""
    from kutui.cli import main
    from tests.cli.conftest import VAULT_PW

    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return VAULT_PW

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("kutui.store.unlock.has_terminal", lambda: True)
    real_is_tty = common.is_tty
    monkeypatch.setattr(
        common, "is_tty", lambda stream=None: stream is sys.stderr or real_is_tty(stream)
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(credentials_stdin()))
    code = main(["--home", str(home), "key", "add", "main/bot1"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert asked == ["Vault passphrase: "]
    assert Home.load(vault_home).registry().key(KeyRef("main", "", "bot1")) is not None


def test_no_terminal_at_all_still_refuses_without_prompting(
    home: Path,
    vault_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kutui.cli import main

    def never(prompt: str = "") -> str:
        raise AssertionError("prompted without a terminal")

    monkeypatch.setattr("getpass.getpass", never)
    monkeypatch.setattr("kutui.store.unlock.has_terminal", lambda: False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(credentials_stdin()))
    code = main(["--home", str(home), "key", "add", "main/bot1"])
    assert code == 2
    assert "no way to unlock" in capsys.readouterr().err
