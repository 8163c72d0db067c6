"""Keyring faults not covered by tests/store/test_keyring.py (docs/security.md, "What the tests
try", B): a locked collection, a backend that cannot initialise, an entry changed or deleted behind
kutui's back, deleting an absent entry twice. Each ends in "use the passphrase" with a reason, and
the vault file is never touched."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from kutui.secret import Secret
from kutui.store.kdf import KdfParams
from kutui.store.keyring_agent import keyring_username
from kutui.store.keyring_unlock import (
    SERVICE,
    delete_kek,
    enroll_keyring,
    open_with_keyring,
    probe,
)
from kutui.store.vault import Vault
from tests.faults.disk import changes, snapshot
from tests.faults.fake_keyrings import read_store, write_store

REPO = Path(__file__).resolve().parents[2]
FAKES = "tests.faults.fake_keyrings"
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)
PASSPHRASE = "keyring-fault-passphrase"


def agent_env(tmp_path: Path, backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS", "PYTHON_KEYRING"))}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHON_KEYRING_BACKEND"] = f"{FAKES}.{backend}"
    env["KUTUI_TEST_KEYRING_FILE"] = str(tmp_path / "keyring.json")
    return env


@pytest.fixture
def enrolled(tmp_path: Path) -> tuple[Path, dict[str, str], Path, str]:
    """A vault with a keyring stanza whose key lives in a FileKeyring."""
    env = agent_env(tmp_path, "FileKeyring")
    vault_dir = tmp_path / "home"
    vault = Vault.create(
        vault_dir / "vault.kv1", passphrase=Secret(PASSPHRASE), kdf=TINY_KDF, allow_weak=True
    )
    assert enroll_keyring(vault, env=env) is None
    entry = f"{SERVICE}/{keyring_username(vault.uuid)}"
    vault.close()
    return vault_dir / "vault.kv1", env, tmp_path / "keyring.json", entry


def test_the_enrolled_keyring_opens_the_vault(
    enrolled: tuple[Path, dict[str, str], Path, str],
) -> None:
    path, env, _store, _entry = enrolled
    vault, why = open_with_keyring(path, env=env)
    assert vault is not None and why == ""


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (base64.b64encode(bytes(32)).decode(), "does not open"),  # another vault's key
        ("not-base64!", "is not a kutui vault key"),
        (base64.b64encode(b"short").decode(), "is not a kutui vault key"),
    ],
    ids=["another-key", "garbage", "wrong-length"],
)
def test_a_changed_entry_falls_back_to_the_passphrase(
    enrolled: tuple[Path, dict[str, str], Path, str], value: str, words: str
) -> None:
    path, env, store_path, entry = enrolled
    store = read_store(store_path)
    store[entry] = value
    write_store(store_path, store)
    before = snapshot(path.parent)
    vault, why = open_with_keyring(path, env=env)
    assert vault is None and words in why
    assert str(path) in why or "vault:" in why
    assert value not in why
    assert Vault.open(path, passphrase=Secret(PASSPHRASE)).uuid  # the passphrase still works
    assert changes(before, snapshot(path.parent)) == []


def test_an_entry_deleted_behind_kutuis_back_falls_back(
    enrolled: tuple[Path, dict[str, str], Path, str],
) -> None:
    path, env, store_path, entry = enrolled
    write_store(store_path, {})
    before = snapshot(path.parent)
    vault, why = open_with_keyring(path, env=env)
    assert vault is None and "has no entry" in why and entry in why
    assert changes(before, snapshot(path.parent)) == []


def test_deleting_an_absent_entry_is_idempotent(
    enrolled: tuple[Path, dict[str, str], Path, str],
) -> None:
    path, env, store_path, entry = enrolled
    uuid = keyring_username(Vault.open(path, passphrase=Secret(PASSPHRASE)).uuid).split(":", 1)[1]
    assert delete_kek(uuid, env=env) is None
    assert entry not in read_store(store_path)
    assert delete_kek(uuid, env=env) is None  # PasswordDeleteError inside: still "done"


@pytest.mark.parametrize(
    ("backend", "words"),
    [("LockedKeyring", "KeyringLocked"), ("InitFailingKeyring", "InitError")],
)
def test_locked_or_uninitialisable_keyring_falls_back_with_a_reason(
    enrolled: tuple[Path, dict[str, str], Path, str], tmp_path: Path, backend: str, words: str
) -> None:
    path, _env, _store, _entry = enrolled
    env = agent_env(tmp_path, backend)
    answer = probe(env=env)
    assert not answer.ok and words in answer.why
    before = snapshot(path.parent)
    vault, why = open_with_keyring(path, env=env)
    assert vault is None and words in why
    assert changes(before, snapshot(path.parent)) == []
