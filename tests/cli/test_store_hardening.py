"""The store hardening items seen from the command line: unsafe homes, vault entries that cannot
be used, crashes between the vault and the registry writes, ``vault passwd``'s fresh data key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.vault import Vault
from tests.cli.conftest import VAULT_PW, Cli, credentials_stdin


@pytest.mark.parametrize("mode", [0o1777, 0o775])
def test_an_unsafe_home_is_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, pw_file: Path, mode: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    result = cli("--home", str(shared), "--passphrase-file", str(pw_file), "init", bare=True)
    assert result.code == 2
    assert result.err.count("\n") == 1 and f"{shared}: has mode {mode:04o}" in result.err
    assert "Traceback" not in result.err
    assert (shared.stat().st_mode & 0o7777) == mode and list(shared.iterdir()) == []


def test_vault_passwd_remove_backups_leaves_nothing_the_old_passphrase_opens(
    cli: Cli, vault_home: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new"
    new.write_text("brand-new-passphrase\n")
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    vault_path = Paths.resolve(vault_home).vault
    kept = cli("vault", "passwd", "--new-passphrase-file", str(new))
    assert kept.code == 0, kept.err
    assert "fresh data key" in kept.err and f"rm {vault_path}.bak.*" in kept.err
    Vault.open(vault_path.with_name("vault.kv1.bak.1"), passphrase=Secret(VAULT_PW))
    newer = tmp_path / "newer"
    newer.write_text("another-new-passphrase\n")
    result = cli(
        *("--home", str(vault_home), "--passphrase-file", str(new)),
        *("vault", "passwd", "--remove-backups", "--new-passphrase-file", str(newer)),
        bare=True,
    )
    assert result.code == 0, result.err
    assert "deleted 3 backup(s)" in result.err
    assert list(vault_path.parent.glob("vault.kv1.bak.*")) == []
    vault = Vault.open(vault_path, passphrase=Secret("another-new-passphrase"))
    assert len(vault.data) == 1
