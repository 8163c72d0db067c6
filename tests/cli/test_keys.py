"""kutui account/key commands in process, against a vault made with tiny KDF parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kutui.model import KeyRef, Slot
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault
from tests.cli.conftest import API_KEY, API_PASSPHRASE, API_SECRET, VAULT_PW, Cli, credentials_stdin


def _vault(home: Path) -> Vault:
    return Vault.open(Paths.resolve(home).vault, passphrase=Secret(VAULT_PW))


def test_key_add_creates_account_and_stores_credentials(cli: Cli, vault_home: Path) -> None:
    result = cli("key", "add", "main/sub1/bot1", "--note", "grid bot", stdin=credentials_stdin())
    assert result.code == 0, result.err
    assert "created account main" in result.err
    assert "created sub-account main/sub1" in result.err
    registry = Home.load(vault_home).registry()
    key = registry.key(KeyRef("main", "sub1", "bot1"))
    assert key is not None and key.fingerprint == "d3eb" and key.has_secret
    assert key.note.text == "grid bot"
    credential = _vault(vault_home).data.get(key.id, Slot.CURRENT)
    assert credential is not None
    assert credential.api_key.reveal() == API_KEY
    assert credential.api_secret.reveal() == API_SECRET
    assert credential.passphrase.reveal() == API_PASSPHRASE


def test_key_add_strips_pasted_whitespace(cli: Cli, vault_home: Path) -> None:
    stdin = f"  {API_KEY}\u200b \n\t{API_SECRET}\r\n{API_PASSPHRASE}  \n"
    assert cli("key", "add", "main/bot1", stdin=stdin).code == 0
    key = Home.load(vault_home).registry().key(KeyRef("main", "", "bot1"))
    assert key is not None
    credential = _vault(vault_home).data.get(key.id)
    assert credential is not None and credential.api_key.reveal() == API_KEY


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        (credentials_stdin(api_key="6705F5C3115"), "24 lowercase hex"),
        (credentials_stdin(passphrase="short"), "7 to 32 characters"),
        (credentials_stdin(passphrase="has space s"), "must not contain spaces"),
        (f"{API_KEY}\n", "three lines"),
    ],
)
def test_key_add_rejects_bad_shapes(cli: Cli, vault_home: Path, stdin: str, problem: str) -> None:
    before = Paths.resolve(vault_home).vault.read_bytes()
    result = cli("key", "add", "main/bot1", stdin=stdin)
    assert result.code == 2
    assert problem in result.err
    assert Paths.resolve(vault_home).vault.read_bytes() == before
    assert Home.load(vault_home).registry().keys == []


def test_odd_secret_is_only_a_warning(cli: Cli, vault_home: Path) -> None:
    result = cli("key", "add", "main/bot1", stdin=credentials_stdin(secret="not-a-uuid-secret"))
    assert result.code == 0
    assert "warning: the API secret does not look like" in result.err


def test_duplicate_ref_is_an_error(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    other = credentials_stdin(api_key="a" * 24)
    result = cli("key", "add", "main/bot1", stdin=other)
    assert result.code == 2
    assert "already exists" in result.err


def test_same_api_key_under_two_refs_is_an_error(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    result = cli("key", "add", "main/bot2", stdin=credentials_stdin())
    assert result.code == 2
    assert "already stored as main/bot1" in result.err
    assert len(Home.load(vault_home).registry().keys) == 1
    assert len(_vault(vault_home).data.key_ids()) == 1


def test_wrong_vault_passphrase(cli: Cli, vault_home: Path, pw_file: Path) -> None:
    pw_file.write_text("not the passphrase\n")
    before = Paths.resolve(vault_home).vault.read_bytes()
    result = cli("key", "add", "main/bot1", stdin=credentials_stdin())
    assert result.code == 2
    assert "wrong passphrase" in result.err
    assert Paths.resolve(vault_home).vault.read_bytes() == before


def test_no_passphrase_source_without_tty(cli: Cli, vault_home: Path) -> None:
    result = cli("--home", str(vault_home), "key", "add", "main/bot1", bare=True)
    assert result.code == 2
    assert "no way to unlock the vault" in result.err


def test_credentials_directory_passphrase(
    cli: Cli, vault_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kutui-passphrase").write_text(VAULT_PW + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    result = cli(
        "--home", str(vault_home), "key", "add", "main/bot1", bare=True, stdin=credentials_stdin()
    )
    assert result.code == 0, result.err


def test_key_add_needs_a_vault(cli: Cli, home: Path) -> None:
    result = cli("key", "add", "main/bot1", stdin=credentials_stdin())
    assert result.code == 2
    assert "kutui init" in result.err


def test_bad_ref(cli: Cli, vault_home: Path) -> None:
    result = cli("key", "add", "main", stdin=credentials_stdin())
    assert result.code == 2
    assert "ACCOUNT/LABEL" in result.err


def test_key_list_json_and_table(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    assert cli("key", "add", "alt/x/bot2", stdin=credentials_stdin(api_key="b" * 24)).code == 0
    listed = json.loads(cli("key", "list", "--json").out)["keys"]
    assert [(k["ref"], k["fingerprint"]) for k in listed] == [
        ("alt/x/bot2", "bbbb"),
        ("main/bot1", "d3eb"),
    ]
    only_main = json.loads(cli("key", "list", "--json", "main").out)["keys"]
    assert [k["ref"] for k in only_main] == ["main/bot1"]
    table = cli("key", "list").out
    assert "main/bot1" in table and "…d3eb" in table


def test_key_list_needs_no_unlock(cli: Cli, vault_home: Path, pw_file: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    pw_file.unlink()
    result = cli("--home", str(vault_home), "key", "list", "--json", bare=True)
    assert result.code == 0
    assert json.loads(result.out)["keys"][0]["fingerprint"] == "d3eb"


def test_key_remove(cli: Cli, vault_home: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    assert cli("key", "remove", "main/bot1").code == 2  # no tty to confirm, no --yes
    assert cli("key", "remove", "main/bot1", "--yes").code == 0
    assert Home.load(vault_home).registry().keys == []
    assert _vault(vault_home).data.key_ids() == []


def test_account_add_list_remove(cli: Cli, vault_home: Path) -> None:
    assert cli("account", "add", "main").code == 0
    assert cli("account", "add", "main/sub1").code == 0
    assert cli("account", "add", "main").code == 2
    assert cli("account", "add", "bad name").code == 2
    assert cli("account", "add", "other", "--api-url", "ftp://x").code == 2
    accounts = json.loads(cli("account", "list", "--json").out)
    assert accounts[0]["name"] == "main"
    assert accounts[0]["subaccounts"][0]["name"] == "sub1"
    assert cli("key", "add", "main/sub1/bot", stdin=credentials_stdin()).code == 0
    assert cli("key", "add", "main/master", stdin=credentials_stdin("a" * 24)).code == 0
    assert cli("key", "add", "main/sub1/bot2", stdin=credentials_stdin("b" * 24)).code == 0
    counted = json.loads(cli("account", "list", "--json").out)[0]
    assert (counted["keys"], counted["subaccounts"][0]["keys"]) == (1, 2)
    assert cli("key", "remove", "main/master", "--yes").code == 0
    assert cli("key", "remove", "main/sub1/bot2", "--yes").code == 0
    refused = cli("account", "remove", "main", "--yes")
    assert refused.code == 2 and "still has 1 key" in refused.err
    assert cli("account", "remove", "main", "--yes", "--force").code == 0
    registry = Home.load(vault_home).registry()
    assert registry.accounts == [] and registry.keys == []
    assert _vault(vault_home).data.key_ids() == []


def test_account_remove_unknown(cli: Cli, vault_home: Path) -> None:
    assert cli("account", "remove", "ghost", "--yes").code == 2
