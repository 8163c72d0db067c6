"""The store hardening items seen from the command line: unsafe homes, vault entries that cannot
be used, crashes between the vault and the registry writes, ``vault passwd``'s fresh data key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kutui.model import KeyRef
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault, peek
from tests.cli.conftest import (
    API_KEY,
    API_PASSPHRASE,
    API_SECRET,
    TINY_KDF,
    VAULT_PW,
    Cli,
    credentials_stdin,
)
from tests.store.vault_payload import read_payload, write_payload


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


# --------------------------------------------------------------------------- A: unusable entries

BAD_SECRET = API_SECRET + "\udce9"  # what `printf '...SECRET\xe9...' | kutui key add` stored


def _vault(home: Path, pw: str = VAULT_PW) -> Vault:
    return Vault.open(Paths.resolve(home).vault, passphrase=Secret(pw))


def _key_id(home: Path, ref: str) -> str:
    key = Home.load(home).registry().key(KeyRef.parse(ref))
    assert key is not None
    return key.id


def _spoil(home: Path, ref: str) -> str:
    """Give ``ref``'s CURRENT credential a lone surrogate, written with the vault's own key."""
    key_id = _key_id(home, ref)
    vault = _vault(home)
    keys = read_payload(vault)
    keys[key_id]["CURRENT"]["api_secret"] = BAD_SECRET
    write_payload(vault, keys)
    return key_id


def _no_secret_in(text: str) -> None:
    for secret in (API_SECRET[:12], API_PASSPHRASE, API_KEY, OTHER_KEY, VAULT_PW):
        assert secret not in text


OTHER_KEY = "6705f5c311545b000157d3ff"


def test_one_unusable_entry_leaves_the_vault_usable_and_is_named_and_removable(
    cli: Cli, vault_home: Path
) -> None:
    assert cli("key", "add", "main/good", stdin=credentials_stdin()).code == 0
    assert cli("key", "add", "main/x", stdin=credentials_stdin(api_key=OTHER_KEY)).code == 0
    bad_id = _spoil(vault_home, "main/x")

    listed = cli("key", "list")
    assert listed.code == 0 and "main/good" in listed.out and "main/x" in listed.out
    # Every unlock works and names the entry; the other keys still work.
    third = cli("key", "add", "main/third", stdin=credentials_stdin(api_key="a" * 24))
    assert third.code == 0, third.err
    named = f"main/x (key id {bad_id}), slot CURRENT: unusable: api_secret is not valid text"
    assert named in third.err and "kutui key remove main/x" in third.err
    good = _vault(vault_home).data.get(_key_id(vault_home, "main/good"))
    assert good is not None and good.api_secret.reveal() == API_SECRET
    # The entry's raw form is still there after that save.
    assert read_payload(_vault(vault_home))[bad_id]["CURRENT"]["api_secret"] == BAD_SECRET

    orphans = cli("key", "list", "--orphans", "--json")
    assert orphans.code == 0
    [state] = json.loads(orphans.out)
    assert (state["key_id"], state["ref"], state["slot"], state["state"]) == (
        bad_id,
        "main/x",
        "CURRENT",
        "unusable",
    )
    doctor = cli("doctor")
    assert doctor.code == 1 and named in doctor.out
    assert "3 credential(s) readable" not in doctor.out and "2 credential(s) readable" in doctor.out
    for result in (listed, third, orphans, doctor):
        _no_secret_in(result.out + result.err)

    removed = cli("key", "remove", "main/x", "--yes")
    assert removed.code == 0, removed.err
    assert bad_id not in read_payload(_vault(vault_home))
    healthy = cli("doctor")
    assert healthy.code == 0, healthy.out
    assert "2 credential(s) readable, unlocked by passphrase" in healthy.out


def test_doctor_skips_the_entries_when_it_cannot_unlock(cli: Cli, vault_home: Path) -> None:
    result = cli("--home", str(vault_home), "doctor", bare=True)  # no passphrase, no terminal
    assert result.code == 0, result.out
    assert "INFO  entries   skipped: the vault was not unlocked" in result.out


# --------------------------------------------------------------------------- D: crashes


CRASH_CHILD = """
import os, sys
from kutui.store.home import Home
from kutui.store.vault import Vault

point = sys.argv[1]
if point == "before-vault":  # the registry holds the new records; the vault is not written
    Vault.update = lambda self, fn: os._exit(9)
else:  # "after-vault": the vault is written, the registry's has_secret is not
    calls = []
    real = Home.update_registry

    def update_registry(self, fn):
        calls.append(fn)
        if len(calls) == 2:
            os._exit(9)
        return real(self, fn)

    Home.update_registry = update_registry
from kutui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _crash(home: Path, pw_file: Path, point: str, *argv: str, stdin: str = "") -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASH_CHILD,
            point,
            "--home",
            str(home),
            "--passphrase-file",
            str(pw_file),
            *argv,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 9, child.stderr


def _listed(cli: Cli) -> dict[str, bool]:
    return {k["ref"]: k["has_secret"] for k in json.loads(cli("key", "list", "--json").out)["keys"]}


@pytest.mark.parametrize("point", ["before-vault", "after-vault"])
def test_key_add_killed_between_its_writes_is_repaired_by_the_next_run(
    cli: Cli, vault_home: Path, pw_file: Path, point: str
) -> None:
    _crash(vault_home, pw_file, point, "key", "add", "main/bot1", stdin=credentials_stdin())
    assert _listed(cli) == {"main/bot1": False}  # listed, so no command hides or blocks it
    again = cli("key", "add", "main/bot1", stdin=credentials_stdin())
    if point == "before-vault":
        assert again.code == 0, again.err  # filled in
    else:
        assert again.code == 2 and "already exists" in again.err  # adopted at unlock
    assert _listed(cli) == {"main/bot1": True}
    stored = _vault(vault_home).data.get(_key_id(vault_home, "main/bot1"))
    assert stored is not None and stored.api_key.reveal() == API_KEY
    assert cli("key", "remove", "main/bot1", "--yes").code == 0
    assert _vault(vault_home).data.key_ids() == []


def _import_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.csv"
    path.write_text(
        "ref,api_key,api_secret,passphrase\n"
        f"main/a,{API_KEY},{API_SECRET},{API_PASSPHRASE}\n"
        f"main/b,{OTHER_KEY},{API_SECRET},{API_PASSPHRASE}\n"
    )
    return path


@pytest.mark.parametrize("point", ["before-vault", "after-vault"])
def test_key_import_killed_between_its_writes_is_repaired_by_the_next_run(
    cli: Cli, vault_home: Path, pw_file: Path, tmp_path: Path, point: str
) -> None:
    path = _import_file(tmp_path)
    _crash(vault_home, pw_file, point, "key", "import", str(path))
    assert _listed(cli) == {"main/a": False, "main/b": False}
    again = cli("key", "import", str(path))
    assert again.code == 0, again.out + again.err
    want = "2 added, 0 skipped" if point == "before-vault" else "0 added, 2 skipped"
    assert want in again.out
    assert _listed(cli) == {"main/a": True, "main/b": True}
    assert len(_vault(vault_home).data) == 2


def test_an_orphan_from_an_older_crash_is_named_listed_and_removable(
    cli: Cli, vault_home: Path, tmp_path: Path
) -> None:
    from kutui.model import Credential

    orphan = "0ddba11" + "0" * 25
    credential = Credential(Secret(API_KEY), Secret(API_SECRET), Secret(API_PASSPHRASE))
    _vault(vault_home).update(lambda d: d.put(orphan, credential))  # no registry record at all

    add = cli("key", "add", "main/bot1", stdin=credentials_stdin())
    assert add.code == 2 and f"kutui key remove --orphan {orphan}" in add.err
    imported = cli("key", "import", str(_import_file(tmp_path)))
    assert imported.code == 1  # not "skipped" with exit 0 while key list is empty
    rejected = "line 2: rejected: main/a (…d3eb): the same API key is already stored as vault "
    assert rejected + f"entry {orphan}" in imported.out
    assert "1 added, 0 skipped, 1 rejected" in imported.out
    listed = cli("key", "list", "--orphans")
    assert orphan in listed.out and "orphan" in listed.out
    assert f"vault entry {orphan}, slot CURRENT: orphan" in cli("doctor").out
    assert cli("key", "remove", "--orphan", _key_id(vault_home, "main/b"), "--yes").code == 2
    assert cli("key", "remove", "--orphan", orphan, "--yes").code == 0
    assert orphan not in _vault(vault_home).data.key_ids()
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0


# --------------------------------------------------------------------------- G: account remove


def test_account_remove_force_refused_meanwhile_deletes_no_credential(
    cli: Cli, vault_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kutui.commands import common

    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    bot1 = _key_id(vault_home, "main/bot1")

    def another_kutui_adds_a_key(question: str, *, yes: bool) -> bool:
        other = credentials_stdin(api_key=OTHER_KEY)
        assert cli("key", "add", "main/bot2", stdin=other).code == 0
        return True

    monkeypatch.setattr(common, "confirm", another_kutui_adds_a_key)
    result = cli("account", "remove", "main", "--force")
    assert result.code == 2 and "keys were added under main meanwhile" in result.err
    assert _vault(vault_home).data.get(bot1) is not None  # nothing was deleted
    assert _listed(cli) == {"main/bot1": True, "main/bot2": True}


def test_a_refused_duplicate_writes_nothing(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    assert cli("key", "add", "main/bot1", stdin=credentials_stdin()).code == 0
    before = Home.load(vault_home).registry()
    again = cli("key", "add", "other/bot1", stdin=credentials_stdin())
    assert again.code == 2 and "already stored as main/bot1" in again.err
    path = tmp_path / "dup.csv"
    path.write_text(
        f"ref,api_key,api_secret,passphrase\nthird/x,{API_KEY},{API_SECRET},{API_PASSPHRASE}\n"
    )
    imported = cli("key", "import", str(path))
    assert "skipped: third/x (…d3eb): the same API key is already stored as main/bot1" in (
        imported.out
    )
    assert Home.load(vault_home).registry() == before  # no account created for a refused key


@pytest.mark.parametrize("keyring_answers", [True, False])
def test_vault_passwd_rewraps_the_keyring_stanza_for_the_new_data_key(
    cli: Cli,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keyring_answers: bool,
) -> None:
    from kutui.store.vault_crypto import new_key

    kek = new_key()
    vault_path = Paths.resolve(home).vault
    Vault.create(
        vault_path, passphrase=Secret(VAULT_PW), kdf=TINY_KDF, keyring_kek=kek, allow_weak=True
    )
    answer = (kek, "") if keyring_answers else (None, "the OS keyring did not answer within 5 s")
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: answer)
    new = tmp_path / "new"
    new.write_text("brand-new-passphrase\n")
    result = cli("vault", "passwd", "--new-passphrase-file", str(new))
    assert result.code == 0, result.err
    if keyring_answers:
        assert "opens with the new passphrase and the OS keyring" in result.err
        assert Vault.open(vault_path, keyring_kek=kek).unlocked_by == "keyring"
    else:
        assert "did not answer within 5 s" in result.err and "passphrase only" in result.err
        assert peek(vault_path).stanzas == ("passphrase",)
    assert Vault.open(vault_path, passphrase=Secret("brand-new-passphrase")).data is not None
