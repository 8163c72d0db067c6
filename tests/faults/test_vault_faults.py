"""Vault file faults not covered by tests/store/test_vault*.py (docs/security.md, "What the tests
try", A):

- a vault owned by another uid is refused, and nothing changes;
- EXDEV from ``os.replace`` (a home moved across filesystems mid-save) is one line and keeps the
  old vault and no temp file;
- ``os._exit`` right after each step of the atomic write recipe (write, fsync, backup link,
  replace, directory fsync): the vault opens at the old or the new generation;
- a lock left by a process that died (SIGKILL while holding it) does not block the next save.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import kutui.store.files as files
from kutui.errors import UnsafeFileError, VaultError
from kutui.model import Credential
from kutui.secret import Secret
from kutui.store.files import TEMP_SUFFIX, locked
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault
from tests.faults.disk import changes, snapshot

PASS = Secret("vault-fault-pass")
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


def cred(n: int) -> Credential:
    return Credential(Secret(f"{n:024x}"), Secret(f"secret-{n:04d}"), Secret(f"pass-{n:04d}"))


def make(path: Path) -> Vault:
    vault = Vault.create(path, passphrase=PASS, kdf=TINY_KDF, allow_weak=True)
    vault.update(lambda d: d.put("k0", cred(0)))
    return vault


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file away needs root")
def test_a_vault_owned_by_another_uid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "vault.kv1"
    make(path).close()
    os.chown(path, 65534, 65534)
    before = snapshot(path.parent)
    with pytest.raises(UnsafeFileError) as caught:
        Vault.open(path, passphrase=PASS)
    assert str(caught.value).startswith(str(path)) and "owned by uid 65534" in str(caught.value)
    assert changes(before, snapshot(path.parent)) == []


def test_exdev_on_replace_is_one_line_and_keeps_the_old_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "home" / "vault.kv1"
    vault = make(path)
    before = path.read_bytes()

    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "replace", cross_device)  # the os module kutui.store.files uses
    with pytest.raises(VaultError) as caught:
        vault.update(lambda d: d.put("k1", cred(1)))
    monkeypatch.undo()
    message = str(caught.value)
    assert message.startswith(str(path)) and os.strerror(errno.EXDEV) in message
    assert "\n" not in message
    assert path.read_bytes() == before
    assert not list(path.parent.glob(f".*{TEMP_SUFFIX}"))
    reopened = Vault.open(path, passphrase=PASS)
    assert reopened.data.key_ids() == ["k0"]


STEPS: dict[str, tuple[str, int]] = {
    # name: (function in kutui.store.files' os module to die in, which call of it)
    "after-write-before-fsync": ("fsync", 1),
    "after-fsync-before-backup-link": ("link", 1),
    "after-backup-before-replace": ("replace", 1),
    "after-replace-before-dir-fsync": ("fsync", 2),
}


def _die_on(name: str, nth: int) -> Callable[..., object]:
    real = getattr(os, name)
    calls = {"n": 0}

    def wrapper(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == nth:
            if name in ("replace", "link"):
                os._exit(9)  # before the call: the step never happened
            real(*args, **kwargs)
            os._exit(9)  # right after the call returned
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("step", list(STEPS))
def test_exit_at_each_step_of_the_write_recipe_leaves_old_or_new(tmp_path: Path, step: str) -> None:
    path = tmp_path / "home" / "vault.kv1"
    make(path).close()  # generation 2, key k0
    name, nth = STEPS[step]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child dies inside the save
        try:
            vault = Vault.open(path, passphrase=PASS)
            setattr(os, name, _die_on(name, nth))
            vault.update(lambda d: d.put("k1", cred(1)))
        finally:
            os._exit(3)  # the step was never reached: a test bug, not a pass
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, "the child did not die at the step"
    files.remove_stale_temps(path.parent, older_than=-1)
    vault = Vault.open(path, passphrase=PASS)
    assert (vault.generation, vault.data.key_ids()) in [(2, ["k0"]), (3, ["k0", "k1"])]
    assert not list(path.parent.glob(f".*{TEMP_SUFFIX}"))
    vault.update(lambda d: d.put("k2", cred(2)))  # and it can be saved again
    assert "k2" in Vault.open(path, passphrase=PASS).data.key_ids()


def test_a_lock_held_by_a_killed_process_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "home" / "vault.kv1"
    vault = make(path)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - holds the lock until killed
        with locked(path):
            os.write(ready_w, b"x")
            time.sleep(60)
        os._exit(0)
    os.read(ready_r, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert path.with_name(path.name + ".lock").exists()  # the stale lock file stays...
    vault.update(lambda d: d.put("k1", cred(1)))  # ...and does not block
    assert Vault.open(path, passphrase=PASS).data.key_ids() == ["k0", "k1"]
