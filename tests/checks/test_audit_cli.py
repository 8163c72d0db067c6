"""``kutui audit``: findings on a real home, JSON, exit codes, passphrases never shown."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from kutui.cli import main
from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    Credential,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
    SubAccount,
    now_utc,
)
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault, VaultData

from .simhome import PASSPHRASE, WEAK

SHARED = "Shared-pass-77"


def _key(key_id: str, ref: str, **kw: object) -> ApiKey:
    now = now_utc()
    base: dict[str, object] = {
        "fingerprint": key_id[-4:],
        "created_at": now - timedelta(days=5),
        "permissions_seen": ("General",),
        "has_secret": True,
        "note": PermissionNote("", ("General",)),
        "last_check": CheckResult(Status.OK, now - timedelta(hours=1)),
    }
    base.update(kw)
    return ApiKey(key_id, KeyRef.parse(ref), **base)  # type: ignore[arg-type]


def make(tmp_path: Path, keys: list[ApiKey], passphrases: dict[str, str]) -> list[str]:
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    home = Home.load(root)

    def fill_registry(reg: Registry) -> None:
        reg.accounts = [Account("main", subaccounts=[SubAccount("s1")])]
        reg.keys = keys

    home.update_registry(fill_registry)
    vault = Vault.create(home.paths.vault, passphrase=Secret(PASSPHRASE), kdf=WEAK, allow_weak=True)

    def fill(data: VaultData) -> None:
        for key_id, passphrase in passphrases.items():
            data.put(key_id, Credential(Secret("a" * 24), Secret("b"), Secret(passphrase)))

    vault.update(fill)
    vault.close()
    pf = root / "pass.txt"
    pf.write_text(PASSPHRASE)
    pf.chmod(0o600)
    return ["--home", str(root), "--passphrase-file", str(pf)]


def test_clean_home_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = make(tmp_path, [_key("k001", "main/s1/a")], {"k001": "Only-pass-1"})
    assert main([*argv, "audit"]) == 0
    assert "no findings" in capsys.readouterr().out


def test_findings_exit_1_and_json_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [
        _key("k001", "main/s1/a"),
        _key("k002", "main/b"),
        _key("k003", "main/s1/c", permissions_seen=("General", "Spot"), api_version=2),
    ]
    argv = make(tmp_path, keys, {"k001": SHARED, "k002": SHARED, "k003": "Other-pass-1"})
    assert main([*argv, "audit", "--json"]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["schema"] == 1 and set(doc) == {"schema", "audited_at", "summary", "findings"}
    rules = sorted((f["ref"], f["rule"]) for f in doc["findings"])
    assert rules == [
        ("main/b", "shared-passphrase"),
        ("main/s1/a", "shared-passphrase"),
        ("main/s1/c", "legacy-key-version"),
        ("main/s1/c", "no-ip-whitelist"),
        ("main/s1/c", "permissions-differ"),
    ]
    assert doc["summary"] == {"info": 0, "warning": 5, "critical": 0}
    assert all(set(f) == {"rule", "severity", "ref", "message", "fix"} for f in doc["findings"])
    assert SHARED not in out + err
    home_files = [p for p in (tmp_path / "home").iterdir() if p.is_file()]
    assert not any(SHARED.encode() in p.read_bytes() for p in home_files)


def test_no_vault_skips_the_passphrase_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [_key("k001", "main/s1/a"), _key("k002", "main/b")]
    argv = make(tmp_path, keys, {"k001": SHARED, "k002": SHARED})
    assert main([*argv, "audit", "--no-vault"]) == 0
    assert main([*argv, "audit"]) == 1
    out = capsys.readouterr().out
    assert "fix: give every key its own passphrase" in out


def test_info_only_findings_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = [_key("k001", "main/s1/a", has_secret=False, last_check=None)]
    argv = make(tmp_path, keys, {})
    assert main([*argv, "audit"]) == 0
    assert "never-checked" in capsys.readouterr().out


def test_vault_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = make(tmp_path, [_key("k001", "main/s1/a")], {"k001": SHARED})
    Path(argv[3]).write_text("not the passphrase")
    assert main([*argv, "audit", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
