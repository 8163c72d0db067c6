"""``kutui import ACCOUNT``: sub-accounts and keys from KuCoin, idempotent, gone ones marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kutui.checks.importer import merge_remote
from kutui.checks.runner import CheckTarget
from kutui.cli import build_parser, main
from kutui.commands.import_cmd import run_import
from kutui.kucoin.client import KeyInfo, SubAccountInfo
from kutui.kucoin.simulator import SimKey, Simulator
from kutui.model import (
    Account,
    ApiKey,
    KeyRef,
    Registry,
    RemoteState,
    Status,
    SubAccount,
    now_utc,
)

from .simfleet import FleetKey, credential_for
from .simhome import SimHome, make_home

MASTER_UID = 1001


def build(tmp_path: Path, subs: int = 120) -> tuple[Simulator, SimHome, list[SimKey]]:
    sim = Simulator(quota_window_ms=1000)
    sim.add_user(MASTER_UID)
    master = sim.add_key(MASTER_UID, permission="General", remark="admin")
    sub_keys: list[SimKey] = []
    for n in range(subs):
        uid = 2000 + n
        sim.add_user(uid, sub_name=f"bot{n:03d}x", master_uid=MASTER_UID, remarks=f"bot {n}")
        for k in range(n % 3):
            sub_keys.append(sim.add_key(uid, permission="General,Spot", remark=f"trader {k}"))
    target = CheckTarget("master", KeyRef("main", "", "admin"), "", credential_for(master))
    sh = make_home(tmp_path / "home", [FleetKey(target, Status.OK, master, MASTER_UID)])
    return sim, sh, sub_keys


def run(sim: Simulator, sh: SimHome, *command: str) -> int:
    args = build_parser().parse_args(sh.argv(*command))
    return int(run_import(args, transport=sim.transport()))


def test_import_adds_every_sub_account_and_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, sub_keys = build(tmp_path)
    assert run(sim, sh, "import", "main", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sub_accounts"]["on_kucoin"] == 120  # two pages of 100
    assert len(report["sub_accounts"]["added"]) == 120
    sub_key_count = len(sub_keys)  # compare counts: a failure must not print fake secrets
    assert sub_key_count == 120
    assert len(report["keys"]["added"]) == sub_key_count
    registry = sh.home.registry()
    account = registry.account("main")
    assert account is not None and len(account.subaccounts) == 120
    assert account.sub("bot005x").uid == 2005  # type: ignore[union-attr]
    imported = [k for k in registry.keys if k.ref.sub]
    assert all(not k.has_secret and k.remote is RemoteState.PRESENT for k in imported)
    assert sorted(k.fingerprint for k in imported) == sorted(k.api_key[-4:] for k in sub_keys)
    assert all(k.permissions_seen == ("General", "Spot") for k in imported)
    db = sh.home.paths.db
    text = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    assert not any(k.api_key.encode() in text or k.api_secret.encode() in text for k in sub_keys)
    assert sim.counters.rate_limited == 0  # 122 listings > 100 per window: paced

    assert run(sim, sh, "import", "main", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["sub_accounts"]["added"] == [] and again["keys"]["added"] == []
    assert again["keys"]["updated"] == 120
    assert len(sh.home.registry().keys) == 121


def test_keys_gone_from_kucoin_are_marked_not_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, sub_keys = build(tmp_path, subs=6)
    assert run(sim, sh, "import", "main") == 0
    gone = sub_keys[0]
    sim.remove_key(gone.api_key)
    assert run(sim, sh, "import", "main") == 0
    out = capsys.readouterr().out
    assert "marked missing" in out
    registry = sh.home.registry()
    missing = [k for k in registry.keys if k.remote is RemoteState.MISSING]
    assert [k.fingerprint for k in missing] == [gone.api_key[-4:]]
    assert len(registry.keys) == 1 + len(sub_keys)


def test_progress_and_notices_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = build(tmp_path, subs=3)
    run(sim, sh, "import", "main", "--json")
    out, err = capsys.readouterr()
    json.loads(out)
    assert "listing the sub-accounts of main" in err


def test_named_master_key_and_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = build(tmp_path, subs=2)
    assert run(sim, sh, "import", "main", "--key", "admin") == 0
    assert main(sh.argv("import", "main", "--key", "nokey")) == 2
    assert main(sh.argv("import", "nosuch")) == 2
    assert main(sh.argv("import", "bad/name")) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_account_without_master_key_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = build(tmp_path, subs=1)

    def bare(reg: Registry) -> None:
        reg.accounts.append(Account("other"))

    sh.home.update_registry(bare)
    assert main(sh.argv("import", "other")) == 2
    assert "no master key" in capsys.readouterr().err


def test_refused_master_key_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim, sh, _ = build(tmp_path, subs=1)
    sim.user(MASTER_UID).status = "frozen"
    before = sh.home.registry()
    args = build_parser().parse_args(sh.argv("import", "main"))
    with pytest.raises(Exception) as caught:
        run_import(args, transport=sim.transport())
    assert getattr(caught.value, "exit_code", None) == 1
    assert getattr(caught.value, "status", None) == "frozen"
    assert sh.home.registry() == before


# ------------------------------------------------------------------ merge rules (pure)


def _info(api_key: str, remark: str = "", created: int = 1_700_000_000_000) -> KeyInfo:
    return KeyInfo(api_key, remark, 3, ("General",), "", created, 7, False, "s1")


def test_sub_account_gone_marks_it_and_its_keys_missing() -> None:
    registry = Registry(
        accounts=[Account("main", subaccounts=[SubAccount("gone1"), SubAccount("kept1")])],
        keys=[ApiKey("a", KeyRef("main", "gone1", "k"), fingerprint="aaaa")],
    )
    subs = [SubAccountInfo("u", 7, "kept1", 2, "", 0)]
    report = merge_remote(registry, "main", subs, {"kept1": []}, now_utc())
    assert report.subs_missing == ["main/gone1"]
    assert report.keys_missing == ["main/gone1/k"]
    assert registry.account("main").sub("gone1").remote is RemoteState.MISSING  # type: ignore[union-attr]
    assert registry.account("main").sub("kept1").remote is RemoteState.PRESENT  # type: ignore[union-attr]
    assert len(registry.keys) == 1


def test_labels_come_from_remarks_and_stay_unique() -> None:
    registry = Registry(accounts=[Account("main", subaccounts=[SubAccount("s1")])])
    infos = [
        _info("0" * 20 + "aaaa", "grid bot #1"),
        _info("0" * 20 + "bbbb", "grid bot #1"),
        _info("0" * 20 + "cccc", "!!!"),
    ]
    subs = [SubAccountInfo("u", 7, "s1", 2, "", 0)]
    report = merge_remote(registry, "main", subs, {"s1": infos}, now_utc())
    assert report.keys_added == [
        "main/s1/grid-bot-1",
        "main/s1/grid-bot-1-bbbb",
        "main/s1/key-cccc",
    ]


def test_existing_key_with_secret_is_matched_by_fingerprint() -> None:
    registry = Registry(
        accounts=[Account("main", subaccounts=[SubAccount("s1")])],
        keys=[ApiKey("mine", KeyRef("main", "s1", "bot"), fingerprint="aaaa", has_secret=True)],
    )
    subs = [SubAccountInfo("u", 7, "s1", 2, "", 0)]
    report = merge_remote(registry, "main", subs, {"s1": [_info("0" * 20 + "aaaa")]}, now_utc())
    assert report.keys_added == [] and report.keys_updated == 1
    key = registry.key_by_id("mine")
    assert key is not None and key.has_secret and key.permissions_seen == ("General",)
