"""Review findings for `kutui key add|import`: filling in an imported key, clear import reasons,
undecodable stdin."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from kutui.cli import main
from kutui.model import Account, ApiKey, KeyRef, Registry, Slot, SubAccount
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault
from tests.cli.conftest import API_KEY, API_SECRET, VAULT_PW, Cli, credentials_stdin

IMPORTED = KeyRef("main", "sub1", "bot2")


def _imported_key(home: Path, *, fingerprint: str = "d3eb", api_version: int = 2) -> str:
    """A key as `kutui import` records it: metadata only, no secret in the vault."""

    def add(registry: Registry) -> str:
        registry.accounts.append(Account(name="main", subaccounts=[SubAccount(name="sub1")]))
        key = ApiKey(
            id="imported0001",
            ref=IMPORTED,
            fingerprint=fingerprint,
            api_version=api_version,
            has_secret=False,
            permissions_seen=("General",),
        )
        registry.keys.append(key)
        return key.id

    return Home.load(home).update_registry(add)


def test_key_add_fills_in_the_secret_of_an_imported_key(cli: Cli, vault_home: Path) -> None:
    key_id = _imported_key(vault_home)
    result = cli("key", "add", str(IMPORTED), stdin=credentials_stdin())
    assert result.code == 0, result.err
    registry = Home.load(vault_home).registry()
    assert len(registry.keys) == 1
    key = registry.key(IMPORTED)
    assert key is not None and key.id == key_id and key.has_secret
    assert key.permissions_seen == ("General",)  # what KuCoin reported is kept
    vault = Vault.open(Paths.resolve(vault_home).vault, passphrase=Secret(VAULT_PW))
    credential = vault.data.get(key_id, Slot.CURRENT)
    assert credential is not None and credential.api_key.reveal() == API_KEY
    assert credential.api_version == 2  # the version KuCoin reported for this key


def test_key_add_refuses_a_key_whose_fingerprint_differs_from_the_imported_one(
    cli: Cli, vault_home: Path
) -> None:
    _imported_key(vault_home, fingerprint="beef")
    vault_before = Paths.resolve(vault_home).vault.read_bytes()
    result = cli("key", "add", str(IMPORTED), stdin=credentials_stdin())
    assert result.code == 2
    assert "…beef" in result.err and "…d3eb" in result.err
    assert API_KEY not in result.err
    assert Paths.resolve(vault_home).vault.read_bytes() == vault_before
    key = Home.load(vault_home).registry().key(IMPORTED)
    assert key is not None and not key.has_secret


def test_key_add_still_refuses_a_key_that_has_a_secret(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    result = cli("key", "add", "main/bot1", stdin=credentials_stdin(api_key="a" * 24))
    assert result.code == 2 and "already exists" in result.err


def test_import_names_the_row_that_holds_the_same_api_key(
    cli: Cli, vault_home: Path, tmp_path: Path
) -> None:
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text(
        "ref,api_key,api_secret,passphrase\n"
        f"main/bot1,{API_KEY},{API_SECRET},Ab12345678\n"
        f"main/bot2,{API_KEY},{API_SECRET},Ab12345678\n"
    )
    result = cli("key", "import", str(csv_file))
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("line 3"))
    assert "skipped" in line and "main/bot1" in line
    registry = Home.load(vault_home).registry()
    assert [str(k.ref) for k in registry.keys] == ["main/bot1"]
    assert registry.keys[0].id not in line  # an internal id means nothing to the user


def test_key_add_with_undecodable_stdin_is_a_usage_error(
    vault_home: Path,
    pw_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = Paths.resolve(vault_home).vault.read_bytes()
    bad = io.TextIOWrapper(io.BytesIO(b"\xff\xfe" + API_KEY.encode() + b"\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", bad)
    code = main(
        ["--home", str(vault_home), "--passphrase-file", str(pw_file), "key", "add", "main/bot1"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "stdin" in err and "UTF-8" in err
    assert Paths.resolve(vault_home).vault.read_bytes() == before
    assert Home.load(vault_home).registry().keys == []


def test_registry_write_failure_is_one_line_and_leaves_no_orphan_credential(
    cli: Cli, vault_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from kutui.store.sqlite_registry import RegistryTransaction

    db = Paths.resolve(vault_home).db

    def full_disk(self: RegistryTransaction, key: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(RegistryTransaction, "put_key", full_disk)
    result = cli("key", "add", "main/bot1", stdin=credentials_stdin())
    assert result.code == 2, result.err
    assert str(db) in result.err and "disk is full" in result.err
    assert "unexpected" not in result.err
    monkeypatch.undo()
    assert Home.load(vault_home).registry().keys == []
    vault = Vault.open(Paths.resolve(vault_home).vault, passphrase=Secret(VAULT_PW))
    assert len(vault.data) == 0  # the credential stored first was taken back out


def test_key_list_of_an_unknown_account_says_so(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    result = cli("key", "list", "mian")
    assert result.code == 2
    assert "no account 'mian'" in result.err
    result = cli("key", "list", "main/nosub")
    assert result.code == 2 and "no sub-account 'main/nosub'" in result.err
    assert "main/bot1" in cli("key", "list", "main").out


def _open_rotation(home: Path, ref: str) -> str:
    from kutui.rotation.master_flow import new_checklist
    from kutui.rotation.store import RotationStore

    h = Home.load(home)
    key = h.registry().key(KeyRef.parse(ref))
    assert key is not None
    checklist = new_checklist("261125090000-abcd", key.id, ref)
    RotationStore(h.paths.rotations_dir).save(checklist)
    return checklist.id


@pytest.mark.parametrize("argv", [("key", "remove", "main/bot1"), ("account", "remove", "main")])
def test_remove_refuses_a_key_with_an_open_rotation(
    cli: Cli, vault_home: Path, argv: tuple[str, ...]
) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    rotation_id = _open_rotation(vault_home, "main/bot1")
    vault_before = Paths.resolve(vault_home).vault.read_bytes()
    result = cli(*argv, "--yes", "--force") if argv[0] == "account" else cli(*argv, "--yes")
    assert result.code == 2, result.err
    assert rotation_id in result.err and "--abort" in result.err
    assert Paths.resolve(vault_home).vault.read_bytes() == vault_before
    assert Home.load(vault_home).registry().key(KeyRef("main", "", "bot1")) is not None
