"""kutui init, vault passwd and doctor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kutui.commands import init as init_module
from kutui.errors import VaultAuthError
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store import keyring_unlock
from kutui.store.keyring_unlock import KeyringAnswer
from kutui.store.vault import Vault, peek
from tests.cli.conftest import VAULT_PW, Cli

AUTO = '[vault]\nunlock = "auto"\nargon2_memory_mib = 64\n'


def test_init_creates_a_private_home(cli: Cli, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    result = cli("--home", str(fresh), "--passphrase-file", str(tmp_path / "pf"), "init", bare=True)
    assert result.code == 0, result.err
    paths = Paths.resolve(fresh)
    assert paths.config.read_bytes() == init_module.example_config()
    assert paths.db.exists() and paths.themes_dir.is_dir()
    assert not paths.accounts.exists()
    assert peek(paths.vault).stanzas == ("passphrase",)
    for path in [fresh, *fresh.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path
    Vault.open(paths.vault, passphrase=Secret(VAULT_PW))


def test_init_keeps_config_and_refuses_an_existing_vault(cli: Cli, home: Path) -> None:
    config = (home / "config.toml").read_bytes()
    assert cli("init").code == 0
    assert (home / "config.toml").read_bytes() == config
    vault = (home / "vault.kv1").read_bytes()
    again = cli("init")
    assert again.code == 2 and "already exists" in again.err
    assert (home / "vault.kv1").read_bytes() == vault


def test_init_without_any_passphrase_source(cli: Cli, home: Path) -> None:
    result = cli("--home", str(home), "init", bare=True)
    assert result.code == 2
    assert "needs a passphrase" in result.err
    assert not (home / "vault.kv1").exists()


def _keyring_works(monkeypatch: pytest.MonkeyPatch, store_error: str | None = None) -> list[bytes]:
    stored: list[bytes] = []
    monkeypatch.setattr(
        keyring_unlock, "probe", lambda **kw: KeyringAnswer(ok=True, backend="fake")
    )

    def store(uuid: str, kek: bytes, **kw: object) -> str | None:
        stored.append(kek)
        return store_error

    monkeypatch.setattr(keyring_unlock, "store_kek", store)
    return stored


def test_init_keyring_only_warns(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config.toml").write_text(AUTO)
    stored = _keyring_works(monkeypatch)
    result = cli("--home", str(home), "init", bare=True)
    assert result.code == 0, result.err
    assert "kutui vault passwd" in result.err
    assert peek(home / "vault.kv1").stanzas == ("keyring",)
    assert Vault.open(home / "vault.kv1", keyring_kek=stored[0]).unlocked_by == "keyring"


def test_init_keyring_and_passphrase(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config.toml").write_text(AUTO)
    _keyring_works(monkeypatch)
    assert cli("init").code == 0
    assert sorted(peek(home / "vault.kv1").stanzas) == ["keyring", "passphrase"]


def test_init_keyring_refusing_the_key(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "config.toml").write_text(AUTO)
    _keyring_works(monkeypatch, store_error="locked")
    result = cli("init")
    assert result.code == 0
    assert "refused the vault key (locked)" in result.err
    assert peek(home / "vault.kv1").stanzas == ("passphrase",)
    failed = cli("--home", str(home / "other"), "init", bare=True)
    assert failed.code == 2 and "no vault created" in failed.err
    assert not (home / "other" / "vault.kv1").exists()


def test_keyring_mode_requires_a_keyring(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "config.toml").write_text('[vault]\nunlock = "keyring"\n')
    monkeypatch.setattr(keyring_unlock, "probe", lambda **kw: KeyringAnswer(ok=False, why="none"))
    result = cli("init")
    assert result.code == 2 and 'vault.unlock is "keyring"' in result.err


def test_vault_passwd(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.write_text("brand-new-passphrase\n")
    assert cli("vault", "passwd").code == 2  # no terminal, no --new-passphrase-file
    result = cli("vault", "passwd", "--new-passphrase-file", str(new))
    assert result.code == 0, result.err
    vault_path = Paths.resolve(vault_home).vault
    Vault.open(vault_path, passphrase=Secret("brand-new-passphrase"))
    with pytest.raises(VaultAuthError):
        Vault.open(vault_path, passphrase=Secret(VAULT_PW))
    assert "still open with the old passphrase" in result.err


def test_doctor_healthy_then_not(cli: Cli, vault_home: Path) -> None:
    healthy = cli("doctor", "--json")
    assert healthy.code == 0, healthy.out
    report = json.loads(healthy.out)
    assert report["healthy"] is True
    topics = {f["topic"] for f in report["findings"]}
    assert {"config", "registry", "keyring", "vault", "files", "clock"} <= topics
    (vault_home / "vault.kv1").chmod(0o644)
    loose = cli("doctor")
    assert loose.code == 1
    assert "vault.kv1 has mode 0644" in loose.out
    (vault_home / "vault.kv1").chmod(0o600)
    (vault_home / "config.toml").write_text("[ui]\nbogus = 1\n")
    broken = cli("doctor")
    assert broken.code == 1 and "ui.bogus: unknown setting" in broken.out


def test_doctor_reports_a_damaged_vault(cli: Cli, vault_home: Path) -> None:
    vault = vault_home / "vault.kv1"
    vault.write_bytes(vault.read_bytes()[:20])
    result = cli("doctor")
    assert result.code == 1 and "FAIL  vault" in result.out
