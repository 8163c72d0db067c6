"""Per-key check history: bounded, atomic, one write per batch, bad files refused."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kutui.errors import RegistryError
from kutui.model import CheckResult, Status
from kutui.store import history as history_mod
from kutui.store.history import MAX_ENTRIES, append_history, forget_keys, read_history

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def result(i: int, status: Status = Status.OK) -> CheckResult:
    return CheckResult(status, T0 + timedelta(minutes=i), code="200000", latency_ms=12.345)


def test_keeps_only_the_last_50_per_key(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    for start in range(0, 70, 7):
        append_history(path, [("k1", result(i)) for i in range(start, start + 7)])
    append_history(path, [("k2", result(0, Status.BAD_SECRET))])
    history = read_history(path)
    assert len(history["k1"]) == MAX_ENTRIES
    assert history["k1"][0].checked_at == T0 + timedelta(minutes=20)
    assert history["k1"][-1].checked_at == T0 + timedelta(minutes=69)
    assert [e.status for e in history["k2"]] == [Status.BAD_SECRET]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_one_write_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[Path] = []
    real = history_mod.atomic_write  # type: ignore[attr-defined]

    def counting(path: Path, data: bytes, **kw: object) -> None:
        writes.append(path)
        real(path, data)

    monkeypatch.setattr(history_mod, "atomic_write", counting)
    path = tmp_path / "history.json"
    append_history(path, [(f"k{i}", result(i)) for i in range(300)])
    append_history(path, [])
    assert len(writes) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"schema": 9, "keys": {}}',
        b'{"schema": 1, "keys": {"k1": [{"status": "ok"}]}}',
        b'{"schema": 1, "keys": {"k1": [{"at": "2026-01-01T00:00:00", "status": "ok"}]}}',
        b'{"schema": 1, "keys": {"k1": [{"at": "2026-01-01T00:00:00+00:00", "status": "meh"}]}}',
    ],
)
def test_a_bad_file_is_named_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(RegistryError) as caught:
        append_history(path, [("k1", result(1))])
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


def test_forget_keys(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    append_history(path, [("k1", result(1)), ("k2", result(2))])
    forget_keys(path, ["k1", "nope"])
    assert set(read_history(path)) == {"k2"}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(list(Status)))))
def test_round_trip_preserves_order_and_bound(
    tmp_path_factory: pytest.TempPathFactory, batch: list[tuple[str, Status]]
) -> None:
    path = tmp_path_factory.mktemp("h") / "history.json"
    rows = [(key, result(i, status)) for i, (key, status) in enumerate(batch)]
    append_history(path, rows, limit=5)
    history = read_history(path)
    for key in "abc":
        expected = [r.status for k, r in rows if k == key][-5:]
        assert [e.status for e in history.get(key, [])] == expected
