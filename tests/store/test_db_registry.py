"""kutui.db's registry: any registry survives the database, and each row-level write does what
the TOML path does (a check result is recorded by the same rule, ``kutui.store.learn``)."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.errors import KeyNotFound, UsageError
from kutui.model import (
    NOT_DEFINITE,
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    Status,
    SubAccount,
)
from kutui.store.learn import apply_results
from kutui.store.sqlite_registry import RegistryStore
from tests.store.test_registry import registries

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def sample() -> Registry:
    return Registry(
        accounts=[
            Account("main", uid=None, subaccounts=[SubAccount("grid"), SubAccount("arb")]),
            Account("other", api_url="http://127.0.0.1:8600"),
        ],
        keys=[
            ApiKey("m1", KeyRef("main", "", "admin"), fingerprint="aaaa", added_at=T0),
            ApiKey(
                "s1",
                KeyRef("main", "grid", "bot"),
                fingerprint="bbbb",
                note=PermissionNote("grid bot", ("General", "Spot"), ("host-a",)),
            ),
            ApiKey("s2", KeyRef("main", "arb", "bot"), fingerprint="cccc"),
            ApiKey("o1", KeyRef("other", "", "ro"), fingerprint="dddd"),
        ],
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RegistryStore]:
    with RegistryStore.open(tmp_path) as opened:
        with opened.write() as tx:
            tx.replace_registry(sample())
        yield opened


def ok(uid: int, at: datetime = T0) -> CheckResult:
    return CheckResult(
        Status.OK,
        at,
        code="200000",
        http_status=200,
        latency_ms=12.5,
        permissions=("General", "Spot"),
        ip_whitelist="10.0.*.*",
        api_version=2,
        uid=uid,
        remark="from kucoin",
        created_at=T0 - timedelta(days=30),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_any_registry_survives_the_database(registry: Registry) -> None:
    with tempfile.TemporaryDirectory() as tmp, RegistryStore.open(Path(tmp)) as store:
        with store.write() as tx:
            tx.replace_registry(registry)
        assert store.snapshot() == registry
        for key in registry.keys:
            assert store.key_by_id(key.id) == key
            assert store.key(key.ref) == key
        for account in registry.accounts:
            assert store.account(account.name) == account
            assert store.keys_under(account.name) == registry.keys_under(account.name)
    with tempfile.TemporaryDirectory() as tmp, RegistryStore.open(Path(tmp)) as store:
        with store.write() as tx:  # row by row gives the same registry as one replace
            for account in registry.accounts:
                tx.put_account(account)
            for key in registry.keys:
                tx.put_key(key)
        assert store.snapshot() == registry


def test_the_last_check_codec_covers_every_field_of_a_check_result() -> None:
    # check_to_json writes fields by position: a new CheckResult field must be added there too.
    assert len(fields(CheckResult)) == 16


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), st.data())
def test_recording_results_matches_the_toml_rule(registry: Registry, data: st.DataObject) -> None:
    ids = [k.id for k in registry.keys] + ["gone"]
    batch = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(ids),
                st.builds(
                    CheckResult,
                    status=st.sampled_from(Status),
                    checked_at=st.just(T0),
                    uid=st.none() | st.integers(1, 2**40),
                    api_version=st.none() | st.sampled_from([1, 2, 3]),
                    remark=st.sampled_from(["", "r"]),
                    created_at=st.none() | st.just(T0),
                ),
            ),
            max_size=6,
        )
    )
    expected = copy.deepcopy(registry)
    want = apply_results(expected, batch)
    with tempfile.TemporaryDirectory() as tmp, RegistryStore.open(Path(tmp)) as store:
        with store.write() as tx:
            tx.replace_registry(registry)
        with store.write() as tx:
            assert tx.record_results(batch) == want
        assert store.snapshot() == expected
        recorded = [(k, r) for k, r in batch if k != "gone" and r.status is not Status.UNCHECKED]
        for key in registry.keys:
            mine = [r for k, r in recorded if k == key.id]
            assert [e.status for e in store.history(key.id)] == [r.status for r in mine]


def test_an_ok_result_teaches_the_key_and_the_sub_accounts_uid(store: RegistryStore) -> None:
    with store.write() as tx:
        assert tx.record_results([("s1", ok(2002)), ("m1", ok(1001))]) == 2
    key = store.key_by_id("s1")
    assert key is not None and key.last_check == ok(2002)
    assert (key.remote, key.permissions_seen, key.api_version) == (
        RemoteState.PRESENT,
        ("General", "Spot"),
        2,
    )
    main = store.account("main")
    assert main is not None and main.uid == 1001
    grid = main.sub("grid")
    assert grid is not None and (grid.uid, grid.remote) == (2002, RemoteState.PRESENT)
    assert main.sub("arb") == SubAccount("arb")  # untouched


def test_history_keeps_the_last_fifty_per_key(store: RegistryStore) -> None:
    for start in range(0, 60, 7):
        with store.write() as tx:
            tx.record_results(
                [("s1", ok(1, T0 + timedelta(minutes=i))) for i in range(start, min(start + 7, 60))]
            )
    with store.write() as tx:
        tx.record_results([("m1", ok(1))])
    history = store.history("s1")
    assert len(history) == 50
    assert history[0].checked_at == T0 + timedelta(minutes=10)
    assert history[-1].checked_at == T0 + timedelta(minutes=59)
    assert len(store.history("m1")) == 1


def test_renaming_an_account_or_sub_account_moves_its_keys(store: RegistryStore) -> None:
    with store.write() as tx:
        tx.rename_account("main", "primary")
    assert [str(k.ref) for k in store.keys_under("primary")] == [
        "primary/admin",
        "primary/grid/bot",
        "primary/arb/bot",
    ]
    assert store.account("main") is None
    with store.write() as tx:
        tx.rename_subaccount("primary", "grid", "grid2")
    key = store.key_by_id("s1")
    assert key is not None and str(key.ref) == "primary/grid2/bot"
    assert key.note.text == "grid bot"


def test_renaming_onto_an_existing_name_or_a_missing_one_is_refused(store: RegistryStore) -> None:
    with pytest.raises(UsageError, match="account 'other' already exists"), store.write() as tx:
        tx.rename_account("main", "other")
    with pytest.raises(KeyNotFound, match="no account 'nope'"), store.write() as tx:
        tx.rename_account("nope", "x")
    with pytest.raises(UsageError, match="main/arb already exists"), store.write() as tx:
        tx.rename_subaccount("main", "grid", "arb")
    with pytest.raises(UsageError, match="not a valid name"), store.write() as tx:
        tx.rename_account("main", "bad name")
    assert store.snapshot() == sample()


def test_a_failed_transaction_changes_nothing(store: RegistryStore) -> None:
    with pytest.raises(UsageError), store.write() as tx:
        tx.set_note("s2", PermissionNote("changed"))
        tx.put_key(ApiKey("new", KeyRef("main", "grid", "bot")))  # same ref as s1
    assert store.snapshot() == sample()


def test_put_key_updates_in_place_and_needs_its_owner(store: RegistryStore) -> None:
    key = sample().keys[1]
    key.remark = "updated"
    with store.write() as tx:
        tx.put_key(key)
    assert store.snapshot().keys[1] == key
    with pytest.raises(KeyNotFound, match="no sub-account 'main/nope'"), store.write() as tx:
        tx.put_key(ApiKey("x", KeyRef("main", "nope", "k")))
    with pytest.raises(KeyNotFound, match="no account 'nope'"), store.write() as tx:
        tx.put_key(ApiKey("x", KeyRef("nope", "", "k")))


def test_deleting_a_key_drops_its_history(store: RegistryStore) -> None:
    with store.write() as tx:
        tx.record_results([("s1", ok(1)), ("s2", ok(2))])
    with store.write() as tx:
        assert tx.delete_key("s1")
        assert not tx.delete_key("s1")
    assert store.key_by_id("s1") is None
    assert store.history("s1") == []
    assert len(store.history("s2")) == 1


def test_deleting_an_account_with_keys_needs_with_keys(store: RegistryStore) -> None:
    with pytest.raises(UsageError, match="main still has 3 key"), store.write() as tx:
        tx.delete_account("main")
    with store.write() as tx:
        assert tx.delete_subaccount("main", "arb", with_keys=True) == ["s2"]
    with store.write() as tx:
        assert sorted(tx.delete_account("main", with_keys=True)) == ["m1", "s1"]
    snapshot = store.snapshot()
    assert [a.name for a in snapshot.accounts] == ["other"]
    assert [k.id for k in snapshot.keys] == ["o1"]


def test_an_account_with_a_bad_name_or_api_url_is_refused(store: RegistryStore) -> None:
    with pytest.raises(UsageError, match="api_url must be http"), store.write() as tx:
        tx.put_account(Account("third", api_url="ftp://x"))
    with pytest.raises(UsageError, match="'bad name' is not a valid name"), store.write() as tx:
        tx.put_account(Account("bad name"))
    assert store.snapshot() == sample()


def test_set_note_changes_only_the_note(store: RegistryStore) -> None:
    note = PermissionNote("reads balances", ("General",), ("grafana",))
    with store.write() as tx:
        tx.set_note("m1", note)
    expected = sample()
    expected.keys[0].note = note
    assert store.snapshot() == expected
    with pytest.raises(KeyNotFound), store.write() as tx:
        tx.set_note("gone", note)


def test_a_transaction_reads_its_own_writes(store: RegistryStore) -> None:
    with store.write() as tx:
        tx.put_account(Account("third"))
        assert tx.account("third") == Account("third")
        assert store.account("third") == Account("third")  # same connection, same transaction
        with pytest.raises(RuntimeError, match="a transaction is already open"), store.write():
            pass
    assert store.account("third") == Account("third")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), registries())
def test_replacing_a_registry_keeps_the_history_of_keys_that_remain(
    first: Registry, second: Registry
) -> None:
    with tempfile.TemporaryDirectory() as tmp, RegistryStore.open(Path(tmp)) as store:
        with store.write() as tx:
            tx.replace_registry(first)
            tx.record_results([(k.id, ok(1)) for k in first.keys])
        with store.write() as tx:
            tx.replace_registry(second)
        assert store.snapshot() == second
        first_ids = {k.id for k in first.keys}
        remaining = {k.id for k in second.keys} & first_ids
        assert set(store.histories()) == remaining


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    runs=st.lists(
        st.lists(
            st.sampled_from(
                [Status.OK, Status.UNREACHABLE, Status.RATE_LIMITED, Status.INVALID_KEY]
            ),
            max_size=8,
        ),  # fmt: skip
        min_size=4,
        max_size=4,
    )
)
def test_last_definite_is_each_keys_newest_result_that_said_something(
    runs: list[list[Status]],
) -> None:
    """What the TUI's lists read at start instead of every key's history: per asked key, its
    newest result that was not an outage or a quota; nothing for a key with none, or not asked."""
    ids = ["m1", "s1", "s2", "o1"]
    with tempfile.TemporaryDirectory() as tmp, RegistryStore.open(Path(tmp)) as store:
        with store.write() as tx:
            tx.replace_registry(sample())
        minute = 0
        for round_ in range(max(map(len, runs))):
            batch = []
            for key_id, statuses in zip(ids, runs, strict=True):
                if round_ < len(statuses):
                    minute += 1
                    batch.append(
                        (key_id, CheckResult(statuses[round_], T0 + timedelta(minutes=minute)))
                    )
            with store.write() as tx:
                tx.record_results(batch)
        found = store.last_definite(["m1", "s1", "s2"])
        for key_id in ("m1", "s1", "s2"):
            full = store.history(key_id)
            definite = [e for e in full if e.status not in NOT_DEFINITE]
            assert found.get(key_id) == (definite[-1:] or None)
        assert "o1" not in found


def test_last_definite_reads_more_keys_than_sqlite_takes_parameters(tmp_path: Path) -> None:
    keys = [ApiKey(f"k{n}", KeyRef("main", "", f"key{n}")) for n in range(1200)]
    with RegistryStore.open(tmp_path) as store:
        with store.write() as tx:
            tx.replace_registry(Registry(accounts=[Account("main")], keys=keys))
        with store.write() as tx:
            tx.record_results([(k.id, CheckResult(Status.OK, T0)) for k in keys])
            tx.record_results(
                [(k.id, CheckResult(Status.UNREACHABLE, T0 + timedelta(1))) for k in keys]
            )
        found = store.last_definite(k.id for k in keys)
    assert len(found) == 1200
    assert {entries[0].status for entries in found.values()} == {Status.OK}
