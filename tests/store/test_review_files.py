"""Review findings: a kutui file that exists but cannot be read is one line and exit 2, not an
"unexpected error" (exit 70), for kutui.db, state.toml and (an old home's) accounts.toml and
history.json alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.cli import main
from kutui.errors import RegistryError
from kutui.paths import Paths
from kutui.store.history import read_history
from kutui.store.registry import read_registry
from kutui.store.state import read_state


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    return Paths.resolve(root)


@pytest.mark.parametrize(
    ("attr", "reader"),
    [("accounts", read_registry), ("state", read_state), ("history", read_history)],
)
def test_unreadable_file_is_a_registry_error(paths: Paths, attr: str, reader: object) -> None:
    path: Path = getattr(paths, attr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()  # opens, but read() fails with EISDIR: an OSError the user caused
    with pytest.raises(RegistryError) as caught:
        reader(path)  # type: ignore[operator]
    assert str(caught.value).startswith(f"{path}: ")
    assert "cannot be read" in str(caught.value)


def test_key_list_with_unreadable_registry_exits_2(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    paths.accounts.parent.mkdir(parents=True, exist_ok=True)
    paths.accounts.mkdir()
    code = main(["--home", str(paths.config.parent), "key", "list"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(paths.accounts) in err and "unexpected" not in err


@pytest.mark.parametrize("attr", ["accounts", "db"])
def test_doctor_reports_an_unreadable_registry_instead_of_crashing(
    paths: Paths, capsys: pytest.CaptureFixture[str], attr: str
) -> None:
    path: Path = getattr(paths, attr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()
    (paths.config.parent / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    code = main(["--home", str(paths.config.parent), "doctor"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "FAIL" in out and str(path) in out


def test_a_vault_save_that_fails_on_disk_keeps_every_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while the new file is written must not shift (and so drop) the backups."""
    import errno
    import os

    from kutui.errors import VaultError
    from tests.store.test_vault import make

    path = tmp_path / "vault.kv1"
    vault = make(path)
    for _ in range(4):
        vault.update(lambda d: None)
    backups = {p.name: p.read_bytes() for p in tmp_path.glob("vault.kv1.bak.*")}
    assert len(backups) == 3
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).endswith(".part"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(VaultError, match="could not be saved"):
        vault.update(lambda d: None)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("vault.kv1.bak.*")} == backups


def test_a_database_that_cannot_be_opened_is_one_line_naming_it(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only home (EROFS/EACCES) or a squatted kutui.db: exit 2, not 'unexpected error'."""
    paths.db.parent.mkdir(parents=True, exist_ok=True)
    paths.db.mkdir()  # os.open(..., O_RDWR) fails with EISDIR, as it would with EROFS or EACCES
    code = main(["--home", str(paths.config.parent), "account", "add", "main"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(paths.db) in err and "unexpected" not in err
    assert len([line for line in err.splitlines() if "warning" not in line]) == 1
