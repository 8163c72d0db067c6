"""Terminal prompts: getpass only, the new vault passphrase asked twice."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest

from kutui.commands import common
from kutui.errors import UsageError
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.vault import Vault
from tests.cli.conftest import API_KEY, API_PASSPHRASE, API_SECRET, VAULT_PW, Cli


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    asked: list[str] = []
    replies: Iterator[str] = iter(answers)

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr(common, "is_tty", lambda stream=None: True)
    return asked


def test_new_passphrase_must_match(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, "one-passphrase", "another-one")
    with pytest.raises(UsageError, match="differ"):
        common.ask_new_passphrase()
    _answers(monkeypatch, "", "")
    with pytest.raises(UsageError, match="empty"):
        common.ask_new_passphrase()
    asked = _answers(monkeypatch, "same-passphrase", "same-passphrase")
    assert common.ask_new_passphrase() == Secret("same-passphrase")
    assert len(asked) == 2


def test_init_on_a_terminal_asks_twice(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _answers(monkeypatch, VAULT_PW, VAULT_PW)
    result = cli("--home", str(home), "init", bare=True)
    assert result.code == 0, result.err
    assert len(asked) == 2
    Vault.open(Paths.resolve(home).vault, passphrase=Secret(VAULT_PW))


def test_key_add_on_a_terminal(cli: Cli, vault_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _answers(monkeypatch, VAULT_PW, f" {API_KEY} ", API_SECRET, API_PASSPHRASE)
    result = cli("--home", str(vault_home), "key", "add", "main/bot1", bare=True)
    assert result.code == 0, result.err
    assert [a.rstrip(": ") for a in asked] == [
        "Vault passphrase",
        "API key",
        "API secret",
        "API passphrase",
    ]


def test_init_with_a_keyring_may_skip_the_recovery_passphrase(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kutui.store import keyring_unlock
    from kutui.store.keyring_unlock import KeyringAnswer
    from kutui.store.vault import peek

    (home / "config.toml").write_text('[vault]\nunlock = "auto"\nargon2_memory_mib = 64\n')
    monkeypatch.setattr(keyring_unlock, "probe", lambda **kw: KeyringAnswer(ok=True))
    monkeypatch.setattr(keyring_unlock, "store_kek", lambda uuid, kek, **kw: None)
    asked = _answers(monkeypatch, "")
    result = cli("--home", str(home), "init", bare=True)
    assert result.code == 0, result.err
    assert len(asked) == 1 and "empty: keyring only" in asked[0]
    assert peek(Paths.resolve(home).vault).stanzas == ("keyring",)
    assert "kutui vault passwd" in result.err
