"""Per-key check history in kutui.db: bounded, one transaction per batch, gone with its key; an
old home's bad history.json is refused by name and left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kutui.errors import RegistryError
from kutui.model import Account, ApiKey, CheckResult, KeyRef, Registry, Status
from kutui.store.history import MAX_ENTRIES
from kutui.store.home import Home

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def result(i: int, status: Status = Status.OK) -> CheckResult:
    return CheckResult(status, T0 + timedelta(minutes=i), code="200000", latency_ms=12.345)


def home_with_keys(root: Path, *key_ids: str) -> Home:
    home = Home.load(root)

    def fill(reg: Registry) -> None:
        reg.accounts.append(Account("acme"))
        reg.keys += [ApiKey(id=k, ref=KeyRef("acme", "", k), has_secret=True) for k in key_ids]

    home.update_registry(fill)
    return home


def test_keeps_only_the_last_50_per_key(tmp_path: Path) -> None:
    home = home_with_keys(tmp_path, "k1", "k2")
    for start in range(0, 70, 7):
        home.record_results([("k1", result(i)) for i in range(start, start + 7)])
    home.record_results([("k2", result(0, Status.BAD_SECRET))])
    history = home.histories()
    assert len(history["k1"]) == MAX_ENTRIES == len(home.history("k1"))
    assert history["k1"][0].checked_at == T0 + timedelta(minutes=20)
    assert history["k1"][-1].checked_at == T0 + timedelta(minutes=69)
    assert [e.status for e in history["k2"]] == [Status.BAD_SECRET]
    assert not home.paths.history.exists()  # no history.json any more


def test_a_batch_is_one_transaction(tmp_path: Path) -> None:
    home = home_with_keys(tmp_path, *(f"k{i}" for i in range(300)))
    with home.store() as store:
        before = store.db.conn.total_changes
    assert home.record_results([(f"k{i}", result(i)) for i in range(300)]) == 300
    assert home.record_results([]) == 0
    assert all(len(entries) == 1 for entries in home.histories().values())
    with home.store() as store:
        assert store.db.conn.total_changes > before


def test_removing_a_key_forgets_its_history(tmp_path: Path) -> None:
    home = home_with_keys(tmp_path, "k1", "k2")
    home.record_results([("k1", result(1)), ("k2", result(2))])
    home.update_registry(lambda reg: setattr(reg, "keys", [k for k in reg.keys if k.id != "k1"]))
    assert set(home.histories()) == {"k2"}


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
def test_a_bad_old_history_file_is_named_and_left_alone(tmp_path: Path, content: bytes) -> None:
    home = Home.load(tmp_path)
    path = home.paths.history
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(RegistryError) as caught:
        home.registry()
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content
    assert not home.paths.db.exists()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(list(Status)))))
def test_round_trip_preserves_order_and_bound(
    tmp_path_factory: pytest.TempPathFactory, batch: list[tuple[str, Status]]
) -> None:
    home = home_with_keys(tmp_path_factory.mktemp("h"), "a", "b", "c")
    rows = [(key, result(i, status)) for i, (key, status) in enumerate(batch)]
    with home.store() as store, store.write() as tx:
        tx.record_results(rows, limit=5)
    history = home.histories()
    for key in "abc":
        expected = [r.status for k, r in rows if k == key and r.status is not Status.UNCHECKED]
        assert [e.status for e in history.get(key, [])] == expected[-5:]
