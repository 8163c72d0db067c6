"""Passphrase sources: a file, the systemd credential, the terminal; never an env var's value."""

from __future__ import annotations

import getpass
import os
import unicodedata
from pathlib import Path

import pytest

from kutui.errors import UnlockError, UnsafeFileError
from kutui.secret import Secret
from kutui.store import unlock
from kutui.store.unlock import (
    PassphraseFileError,
    find_passphrase,
    prompt_passphrase,
    read_passphrase_file,
)
from kutui.store.vault import Vault
from tests.store.conftest import TINY_KDF


def write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hunter2 is long enough\n", "hunter2 is long enough"),
        (b"no newline", "no newline"),
        (b"windows\r\n", "windows"),
        (b"first\nsecond line ignored\n", "first"),
        (b"  spaces kept  \n", "  spaces kept  "),
        ("cafe\u0301\n".encode(), "caf\u00e9"),  # NFD in the file, NFC out
    ],
)
def test_passphrase_file_first_line(tmp_path: Path, content: bytes, expected: str) -> None:
    found = read_passphrase_file(write(tmp_path / "pw", content))
    assert found.secret == Secret(expected)
    assert found.source == str(tmp_path / "pw") and found.warnings == ()


@pytest.mark.parametrize("content", [b"", b"\n", b"\nsecond"])
def test_empty_passphrase_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "pw", content)
    with pytest.raises(PassphraseFileError, match="empty") as info:
        read_passphrase_file(path)
    assert str(info.value).startswith(str(path))


def test_readable_by_others_warns(tmp_path: Path) -> None:
    found = read_passphrase_file(write(tmp_path / "pw", b"secret words\n", 0o644))
    assert found.secret == Secret("secret words")
    assert found.warnings and "0644" in found.warnings[0]
    assert "secret words" not in found.warnings[0]


def test_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(PassphraseFileError, match="not a regular file"):
        read_passphrase_file(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PassphraseFileError, match="not a regular file"):
        read_passphrase_file(fifo)  # must not block waiting for a writer


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = write(tmp_path / "real", b"pw\n")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        read_passphrase_file(tmp_path / "link")


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the file to another user")
def test_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "pw", b"pw\n")
    os.chown(path, 12345, -1)
    with pytest.raises(UnsafeFileError, match="owned by uid 12345"):
        read_passphrase_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PassphraseFileError, match="not found"):
        read_passphrase_file(tmp_path / "nope")


def test_megabyte_passphrase_file(tmp_path: Path) -> None:
    big = "p" * (1024 * 1024)
    assert read_passphrase_file(write(tmp_path / "pw", big.encode() + b"\n")).secret == Secret(big)
    with pytest.raises(PassphraseFileError, match="larger than 1 MiB"):
        read_passphrase_file(write(tmp_path / "huge", b"p" * (2 * 1024 * 1024)))


def test_credentials_directory(tmp_path: Path) -> None:
    write(tmp_path / "kutui-passphrase", b"from systemd\n", 0o400)
    found = find_passphrase(environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert found is not None and found.secret == Secret("from systemd")


def test_sources_in_order(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    write(creds / "kutui-passphrase", b"credential\n")
    file = write(tmp_path / "pw", b"file\n")
    env = {"CREDENTIALS_DIRECTORY": str(creds)}

    def prompt(_: str) -> Secret:
        return Secret("typed")

    found = find_passphrase(passphrase_file=file, prompt=prompt, environ=env)
    assert found is not None and found.secret == Secret("file")
    found = find_passphrase(prompt=prompt, environ=env)
    assert found is not None and found.secret == Secret("credential")
    found = find_passphrase(prompt=prompt, environ={})
    assert found is not None and found.secret == Secret("typed") and found.source == "prompt"
    assert find_passphrase(environ={}) is None


def test_an_environment_variable_is_never_a_passphrase(tmp_path: Path) -> None:
    env = {
        name: "env value" for name in ("KUTUI_PASSPHRASE", "KUTUI_VAULT_PASSPHRASE", "PASSPHRASE")
    }
    env["CREDENTIALS_DIRECTORY"] = str(tmp_path / "empty")  # names a dir without the credential
    assert find_passphrase(environ=env) is None


def test_prompt_needs_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unlock, "has_terminal", lambda: False)
    with pytest.raises(UnlockError, match="no terminal"):
        prompt_passphrase()


def test_prompt_normalises_and_confirms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unlock, "has_terminal", lambda: True)
    answers = iter([unicodedata.normalize("NFD", "señor"), unicodedata.normalize("NFD", "señor")])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert prompt_passphrase(confirm=True) == Secret("señor")
    answers = iter(["one", "two"])
    with pytest.raises(UnlockError, match="differ"):
        prompt_passphrase(confirm=True)


def test_passphrase_file_opens_the_vault(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    Vault.create(path, passphrase=Secret("from a file"), kdf=TINY_KDF, allow_weak=True)
    found = read_passphrase_file(write(tmp_path / "pw", b"from a file\n"))
    assert Vault.open(path, passphrase=found.secret).unlocked_by == "passphrase"
