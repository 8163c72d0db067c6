"""Keyring unlock: only a real keyring is used, and anything else falls back quickly with a reason.

The agent always runs as a child process. Misbehaving backends come from
``tests/store/fake_keyrings.py`` through ``PYTHON_KEYRING_BACKEND``; the real one is a private
gnome-keyring on a private D-Bus session (``keyring_env``), never the developer's own.
"""

from __future__ import annotations

import base64
import os
import subprocess
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kutui.model import Credential
from kutui.secret import Secret
from kutui.store import keyring_agent, keyring_unlock
from kutui.store.keyring_unlock import (
    delete_kek,
    enroll_keyring,
    fetch_kek,
    open_with_keyring,
    probe,
    store_kek,
    unenroll_keyring,
)
from kutui.store.vault import Vault
from kutui.store.vault_crypto import new_key
from tests.keyring_session import REPO
from tests.store.conftest import TINY_KDF

FAKES = "tests.store.fake_keyrings"


@pytest.fixture
def headless_env(tmp_path: Path) -> dict[str, str]:
    """A child environment with no D-Bus session and a throwaway HOME (a headless SSH login)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBUS_", "PYTHON_KEYRING", "XDG_", "DISPLAY"))
    }
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO))
    (tmp_path / "home").mkdir()
    return env


def with_backend(env: Mapping[str, str], backend: str, **extra: str) -> dict[str, str]:
    return {**env, "PYTHON_KEYRING_BACKEND": backend, **extra}


# ------------------------------------------------------------------ backends that must not be used


def test_headless_login_has_no_keyring(headless_env: dict[str, str]) -> None:
    answer = probe(env=headless_env)
    assert not answer.ok and answer.why


def test_hanging_backend_is_killed_at_the_timeout(
    headless_env: dict[str, str], tmp_path: Path
) -> None:
    pid_file = tmp_path / "agent.pid"
    env = with_backend(headless_env, f"{FAKES}.HangingKeyring", KUTUI_TEST_PID_FILE=str(pid_file))
    started = time.monotonic()
    answer = probe(timeout=1.5, env=env)
    elapsed = time.monotonic() - started
    assert not answer.ok and "did not answer within 1.5 s" in answer.why
    assert elapsed < 10  # bounded by the timeout, not by the backend
    agent_pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(agent_pid, 0)  # the hung agent was killed, not left behind


def test_hanging_backend_on_unlock_falls_back(headless_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    Vault.create(
        path, passphrase=Secret("pw"), kdf=TINY_KDF, allow_weak=True, keyring_kek=new_key()
    )
    vault, why = open_with_keyring(
        path, timeout=1.0, env=with_backend(headless_env, f"{FAKES}.HangingKeyring")
    )
    assert vault is None and "did not answer" in why
    assert Vault.open(path, passphrase=Secret("pw")).unlocked_by == "passphrase"


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        (f"{FAKES}.RaisingKeyring", "KeyringError: the collection is locked"),
        (f"{FAKES}.CrashingKeyring", "RuntimeError: D-Bus connection lost"),
        (f"{FAKES}.ForgetfulKeyring", "did not keep the value"),
        ("keyring.backends.null.Keyring", "keyring.backends.null.Keyring does not store secrets"),
        ("keyring.backends.fail.Keyring", "keyring.backends.fail.Keyring does not store secrets"),
        ("no_such_module.Keyring", "ModuleNotFoundError"),
    ],
)
def test_unusable_backends_are_refused_with_a_reason(
    headless_env: dict[str, str], backend: str, words: str
) -> None:
    answer = probe(env=with_backend(headless_env, backend))
    assert not answer.ok
    assert words in answer.why
    kek, why = fetch_kek(
        "00000000-0000-0000-0000-000000000000", env=with_backend(headless_env, backend)
    )
    assert kek is None and why
    assert store_kek("x", new_key(), env=with_backend(headless_env, backend)) is not None


def test_keyrings_alt_is_never_chosen(headless_env: dict[str, str], tmp_path: Path) -> None:
    """A working plaintext backend under keyrings.alt's name: refused even when named explicitly."""
    package = tmp_path / "site" / "keyrings" / "alt"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "file.py").write_text(
        textwrap.dedent(
            """
            from keyring.backend import KeyringBackend
            _store = {}
            class PlaintextKeyring(KeyringBackend):
                priority = 1
                def get_password(self, s, u): return _store.get((s, u))
                def set_password(self, s, u, p): _store[(s, u)] = p
                def delete_password(self, s, u): _store.pop((s, u), None)
            """
        )
    )
    env = with_backend(headless_env, "keyrings.alt.file.PlaintextKeyring")
    env["PYTHONPATH"] = f"{tmp_path / 'site'}{os.pathsep}{REPO}"
    answer = probe(env=env)
    assert not answer.ok and "keyrings.alt.file.PlaintextKeyring" in answer.why


def test_a_chainer_is_judged_by_what_it_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core
    from keyring.backends import null
    from keyring.backends.chainer import ChainerBackend

    monkeypatch.setattr(keyring.core, "init_backend", lambda limit=None: None)
    monkeypatch.setattr(keyring, "get_keyring", lambda: ChainerBackend())  # type: ignore[no-untyped-call]
    monkeypatch.setattr(ChainerBackend, "backends", [null.Keyring()])  # type: ignore[no-untyped-call]
    with pytest.raises(keyring_agent.Refused, match="chainer"):
        keyring_agent.choose_backend()


def test_the_key_never_travels_in_argv_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    class FakePopen:
        pid = 0
        returncode = 0

        def __init__(self, argv: list[str], **kwargs: Any) -> None:
            seen.append({"argv": argv, "env": kwargs.get("env")})

        def communicate(self, data: bytes, timeout: float) -> tuple[bytes, bytes]:
            seen[-1]["stdin"] = data
            return b'{"ok": true}\n', b""

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    kek = new_key()
    encoded = base64.b64encode(kek).decode()
    assert keyring_unlock.store_kek("some-uuid", kek, env={"PATH": "/usr/bin"}) is None
    call = seen[0]
    assert not any(encoded in arg for arg in call["argv"])
    assert not any(encoded in value for value in call["env"].values())
    assert encoded.encode() in call["stdin"]


# ------------------------------------------------------------------ the real keyring


def cred() -> Credential:
    return Credential(Secret("6" * 24), Secret("secret"), Secret("passphrase"))


@pytest.mark.keyring
def test_real_keyring_probe_passes(keyring_env: dict[str, str]) -> None:
    answer = probe(env=keyring_env)
    assert answer.ok, answer.why
    assert answer.backend == "keyring.backends.SecretService.Keyring"


@pytest.mark.keyring
def test_keyring_vault_opens_with_no_passphrase(
    keyring_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "vault.kv1"
    kek = new_key()
    vault = Vault.create(path, passphrase=None, keyring_kek=kek)
    vault.update(lambda d: d.put("k", cred()))
    assert store_kek(vault.uuid, kek, env=keyring_env) is None

    opened, why = open_with_keyring(path, env=keyring_env)
    assert opened is not None, why
    assert opened.unlocked_by == "keyring"
    assert opened.data.get("k") == cred()
    assert delete_kek(vault.uuid, env=keyring_env) is None
    assert delete_kek(vault.uuid, env=keyring_env) is None  # deleting twice is fine
    assert open_with_keyring(path, env=keyring_env)[0] is None


@pytest.mark.keyring
def test_enroll_and_unenroll_a_passphrase_vault(
    keyring_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "vault.kv1"
    vault = Vault.create(path, passphrase=Secret("pw"), kdf=TINY_KDF, allow_weak=True)
    vault.update(lambda d: d.put("k", cred()))
    assert enroll_keyring(vault, env=keyring_env) is None
    assert vault.has_keyring_stanza

    opened, why = open_with_keyring(path, env=keyring_env)
    assert opened is not None and opened.data.get("k") == cred(), why

    assert unenroll_keyring(vault, env=keyring_env) is None
    kek, why = fetch_kek(vault.uuid, env=keyring_env)
    assert kek is None and "no entry" in why
    opened, why = open_with_keyring(path, env=keyring_env)
    assert opened is None and "no keyring unlock" in why
    assert Vault.open(path, passphrase=Secret("pw")).data.get("k") == cred()


@pytest.mark.keyring
def test_a_keyring_entry_that_is_not_a_key_is_ignored(keyring_env: dict[str, str]) -> None:
    answer = keyring_unlock.run_agent(
        "set", {"username": "vault:bogus", "value": "not base64!"}, env=keyring_env
    )
    assert answer.ok
    kek, why = fetch_kek("bogus", env=keyring_env)
    assert kek is None and "not a kutui vault key" in why
    assert delete_kek("bogus", env=keyring_env) is None
