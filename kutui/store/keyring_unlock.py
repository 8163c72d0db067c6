"""The parent side of keyring unlock: run ``kutui.store.keyring_agent`` with a timeout.

Every call returns an answer instead of raising: the keyring is an optional convenience, and any
failure (no backend, a fake one, a hang, an error) means "fall back to the passphrase" with a
reason the UI or ``kutui doctor`` can show. The vault's key-encryption key (KEK) is stored as
base64 under service ``kutui``, username ``vault:<uuid>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import signal
import subprocess  # nosec B404
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kutui.errors import VaultAuthError
from kutui.store.keyring_agent import SERVICE, keyring_username
from kutui.store.vault import Vault, peek
from kutui.store.vault_crypto import new_key

__all__ = [
    "DEFAULT_TIMEOUT",
    "SERVICE",
    "KeyringAnswer",
    "delete_kek",
    "enroll_keyring",
    "fetch_kek",
    "open_with_keyring",
    "probe",
    "store_kek",
    "try_keyring_stanza",
    "unenroll_keyring",
]

DEFAULT_TIMEOUT = 5.0  # config: [vault] keyring_timeout_seconds
KEK_BYTES = 32


@dataclass(frozen=True)
class KeyringAnswer:
    """``ok`` with the backend's name, or ``why`` it cannot be used. ``value`` only for get."""

    ok: bool
    why: str = ""
    backend: str = ""
    warning: str = ""
    value: str | None = None

    def __repr__(self) -> str:  # the value is a key: never print it
        return f"KeyringAnswer(ok={self.ok}, backend={self.backend!r}, why={self.why!r})"


def run_agent(
    op: str,
    request: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> KeyringAnswer:
    """Run one agent operation; a timeout or a crash is an answer with ``ok=False``."""
    # Fixed argv, no shell, values only on stdin (hence the nosec marks for bandit).
    # -P: no script directory on sys.path, so a stray keyring.py in the cwd is never imported.
    argv = [sys.executable, "-P", "-m", "kutui.store.keyring_agent", op]
    try:
        proc = subprocess.Popen(  # nosec B603
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # so a timeout kills helpers it spawned (dbus-launch...)
        )
    except OSError as exc:
        return KeyringAnswer(ok=False, why=f"cannot start the keyring agent ({exc.strerror})")
    try:
        out, _ = proc.communicate(json.dumps(dict(request or {})).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return KeyringAnswer(ok=False, why=f"the OS keyring did not answer within {timeout:g} s")
    try:
        doc = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return KeyringAnswer(ok=False, why=f"the keyring agent failed (exit {proc.returncode})")
    if not isinstance(doc, dict):
        return KeyringAnswer(ok=False, why="the keyring agent gave an unexpected answer")
    value = doc.get("value")
    return KeyringAnswer(
        ok=bool(doc.get("ok")),
        why=str(doc.get("why", "")),
        backend=str(doc.get("backend", "")),
        warning=str(doc.get("warning", "")),
        value=value if isinstance(value, str) else None,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def probe(
    *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> KeyringAnswer:
    """Write a random value, read it back, delete it. ``ok`` means a real keyring works."""
    return run_agent("probe", timeout=timeout, env=env)


def fetch_kek(
    vault_uuid: str, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> tuple[bytes | None, str]:
    """(the vault's KEK, "") or (None, why)."""
    username = keyring_username(vault_uuid)
    answer = run_agent("get", {"username": username}, timeout=timeout, env=env)
    if not answer.ok:
        return None, answer.why
    if answer.value is None:
        return None, f"the OS keyring has no entry {SERVICE}/{username}"
    try:
        kek = base64.b64decode(answer.value, validate=True)
    except (binascii.Error, ValueError):
        kek = b""
    if len(kek) != KEK_BYTES:
        return None, f"the OS keyring entry {SERVICE}/{username} is not a kutui vault key"
    return kek, ""


def store_kek(
    vault_uuid: str,
    kek: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Store the KEK (the agent reads it back); None on success, else why it failed."""
    request = {"username": keyring_username(vault_uuid), "value": base64.b64encode(kek).decode()}
    answer = run_agent("set", request, timeout=timeout, env=env)
    return None if answer.ok else answer.why


def delete_kek(
    vault_uuid: str, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> str | None:
    """Remove the KEK (absent is fine); None on success, else why it failed."""
    answer = run_agent(
        "delete", {"username": keyring_username(vault_uuid)}, timeout=timeout, env=env
    )
    return None if answer.ok else answer.why


def open_with_keyring(
    path: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    backups: int = 3,
    seen_generation: int | None = None,
) -> tuple[Vault | None, str]:
    """Open the vault with the key the OS keyring holds: (vault, "") or (None, why).

    Format errors still raise (they are not a keyring problem); a vault without a keyring
    stanza, a keyring that fails or a key that does not fit give (None, why) so the caller can
    fall back to the passphrase."""
    vault, why = try_keyring_stanza(
        path,
        lambda uuid: fetch_kek(uuid, timeout=timeout, env=env),
        backups=backups,
        seen_generation=seen_generation,
    )
    if vault is None and not why:
        return None, f"{path} has no keyring unlock"
    return vault, why


def try_keyring_stanza(
    path: Path,
    fetch: Callable[[str], tuple[bytes | None, str]],
    *,
    backups: int = 3,
    seen_generation: int | None = None,
) -> tuple[Vault | None, str]:
    """The one "open with the keyring stanza" rule (``open_with_keyring`` and ``Home.open_vault``
    both use it): (vault, ""), (None, why) when the keyring or its key fails, or (None, "") when
    the vault has no keyring stanza, so there was nothing to try. ``fetch(uuid)`` gives the KEK
    like ``fetch_kek``. Format errors raise (the header is read first, by ``peek``)."""
    info = peek(path)
    if "keyring" not in info.stanzas:
        return None, ""
    kek, why = fetch(info.uuid)
    if kek is None:
        return None, why
    try:
        vault = Vault.open(path, keyring_kek=kek, backups=backups, seen_generation=seen_generation)
    except VaultAuthError:
        return None, f"the key in the OS keyring does not open {path}"
    return vault, ""


def enroll_keyring(
    vault: Vault, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> str | None:
    """Create a KEK, store it in the keyring (verified), then add the keyring stanza.

    None on success, else why (nothing changed in the vault)."""
    kek = new_key()
    why = store_kek(vault.uuid, kek, timeout=timeout, env=env)
    if why is not None:
        return why
    try:
        vault.enable_keyring(kek)
    except BaseException:
        delete_kek(vault.uuid, timeout=timeout, env=env)
        raise
    return None


def unenroll_keyring(
    vault: Vault, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> str | None:
    """Remove the keyring stanza, then the keyring entry; None, or why the entry remains."""
    vault.disable_keyring()
    return delete_kek(vault.uuid, timeout=timeout, env=env)
