"""Applying check results to the registry, and saving them in batches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kutui.checks.results import ResultSaver
from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    Registry,
    RemoteState,
    Status,
    SubAccount,
    now_utc,
)
from kutui.store.home import Home
from kutui.store.learn import apply_result

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def registry() -> Registry:
    return Registry(
        accounts=[Account("main", subaccounts=[SubAccount("s1")])],
        keys=[
            ApiKey("m", KeyRef("main", "", "admin"), fingerprint="aaaa"),
            ApiKey("s", KeyRef("main", "s1", "bot"), fingerprint="bbbb", api_version=3),
        ],
    )


def ok(uid: int, **kw: object) -> CheckResult:
    fields: dict[str, object] = {
        "code": "200000",
        "permissions": ("General", "Spot"),
        "ip_whitelist": "10.**.1",
        "api_version": 2,
        "uid": uid,
        "created_at": CREATED,
        "remark": "grid",
    }
    fields.update(kw)
    return CheckResult(Status.OK, now_utc(), **fields)  # type: ignore[arg-type]


def test_ok_records_what_kucoin_reported() -> None:
    reg = registry()
    assert apply_result(reg, "s", ok(2002))
    key = reg.key_by_id("s")
    assert key is not None
    assert key.permissions_seen == ("General", "Spot")
    assert key.ip_whitelist_seen == "10.**.1"
    assert key.api_version == 2
    assert key.created_at == CREATED
    assert key.remote is RemoteState.PRESENT
    assert key.status is Status.OK
    assert reg.account("main").sub("s1").uid == 2002  # type: ignore[union-attr]
    assert reg.account("main").uid is None  # type: ignore[union-attr]
    assert apply_result(reg, "m", ok(1001))
    assert reg.account("main").uid == 1001  # type: ignore[union-attr]


def test_invalid_key_marks_missing_and_keeps_old_facts() -> None:
    reg = registry()
    apply_result(reg, "s", ok(2002))
    apply_result(reg, "s", CheckResult(Status.INVALID_KEY, now_utc(), code="400003"))
    key = reg.key_by_id("s")
    assert key is not None
    assert key.remote is RemoteState.MISSING
    assert key.status is Status.INVALID_KEY
    assert key.permissions_seen == ("General", "Spot")  # last known, not wiped


def test_unchecked_and_unknown_keys_change_nothing() -> None:
    reg = registry()
    assert not apply_result(reg, "s", CheckResult(Status.UNCHECKED, now_utc()))
    assert not apply_result(reg, "gone", ok(1))
    assert reg.key_by_id("s").last_check is None  # type: ignore[union-attr]


def test_saver_writes_in_batches(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    keys = [ApiKey(f"k{i}", KeyRef("main", "", f"k{i}")) for i in range(600)]

    def fill(reg: Registry) -> None:
        reg.accounts = [Account("main")]
        reg.keys = keys

    home.update_registry(fill)
    saver = ResultSaver(home, batch=250, interval=3600)
    for i in range(600):
        saver.add(f"k{i}", CheckResult(Status.BAD_SECRET, now_utc(), code="400005"))
    saver.add("k0", CheckResult(Status.UNCHECKED, now_utc()))
    # Batches, never a write per result; the second batch may wait for the spacing rule.
    assert saver.writes in (1, 2) and saver.saved == 250 * saver.writes
    batches = saver.writes
    saver.flush()
    saver.flush()  # nothing pending: no write
    assert saver.writes == batches + 1 and saver.saved == 600
    saved = home.registry()
    assert all(k.status is Status.BAD_SECRET for k in saved.keys)
    history = home.histories()
    assert len(history) == 600 and all(len(v) == 1 for v in history.values())


def test_saver_spaces_saves_by_their_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that takes 10 s (a huge registry) is not followed by another within 40 s."""
    import time

    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    home = Home.load(tmp_path)
    keys = [ApiKey(f"k{i}", KeyRef("main", "", f"k{i}")) for i in range(50)]

    def fill(reg: Registry) -> None:
        reg.accounts = [Account("main")]
        reg.keys = keys

    home.update_registry(fill)
    real_record = home.record_results

    def slow_record(batch: Iterable[tuple[str, CheckResult]]) -> int:
        clock[0] += 10.0
        return real_record(batch)

    monkeypatch.setattr(home, "record_results", slow_record)
    saver = ResultSaver(home, batch=1, interval=0.0)
    for i in range(10):
        saver.add(f"k{i}", CheckResult(Status.OK, now_utc()))
    assert saver.writes == 1  # the first save cost 10 s: the next waits 40 s
    clock[0] += 41.0
    saver.add("k10", CheckResult(Status.OK, now_utc()))
    assert saver.writes == 2 and saver.saved == 11
