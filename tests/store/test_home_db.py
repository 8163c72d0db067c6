"""``Home`` on kutui.db: ``update_registry`` writes only what ``fn`` changed (and any change is
stored exactly, order included), connections are per thread, kutui.db is opened lazily."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from kutui.errors import UsageError
from kutui.model import Account, ApiKey, KeyRef, PermissionNote, Registry, SubAccount
from kutui.store.home import Home
from tests.store.test_registry import registries


def _changes(home: Home) -> int:
    with home.store() as store:
        return store.db.conn.total_changes


def _big(home: Home, n: int = 2000) -> None:
    def fill(reg: Registry) -> None:
        reg.accounts = [Account("main", subaccounts=[SubAccount("bots")])]
        reg.keys = [ApiKey(f"k{i}", KeyRef("main", "bots", f"l{i}")) for i in range(n)]

    home.update_registry(fill)


def test_one_change_writes_one_row(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    home.histories()  # nothing on disk yet: a read creates nothing
    assert not home.paths.db.exists()
    _big(home)
    before = _changes(home)

    def note(reg: Registry) -> str:
        key = reg.key_by_id("k1500")
        assert key is not None
        key.note = PermissionNote("grid bot", ("General",))
        return "done"

    assert home.update_registry(note) == "done"
    assert _changes(home) - before == 1
    assert home.registry().key_by_id("k1500").note.text == "grid bot"  # type: ignore[union-attr]
    before = _changes(home)
    home.update_registry(lambda reg: None)
    assert _changes(home) == before  # nothing changed: nothing written


def test_deletions_are_written(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    _big(home, 10)

    def drop(reg: Registry) -> None:
        reg.keys = [k for k in reg.keys if k.id != "k3"]
        reg.accounts.append(Account("spare", subaccounts=[SubAccount("x")]))

    home.update_registry(drop)

    def drop_more(reg: Registry) -> None:
        reg.accounts = [a for a in reg.accounts if a.name != "spare"]
        reg.keys = reg.keys[:2]

    home.update_registry(drop_more)
    registry = home.registry()
    assert [k.id for k in registry.keys] == ["k0", "k1"]
    assert [a.name for a in registry.accounts] == ["main"]


def test_removing_an_owner_of_keys_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    _big(home, 3)
    before = home.registry()

    def orphan(reg: Registry) -> None:
        reg.keys.pop()
        reg.accounts = []

    with pytest.raises(UsageError, match="still has 2 key"):
        home.update_registry(orphan)
    assert home.registry() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), registries())
def test_any_change_is_stored_exactly(
    tmp_path_factory: pytest.TempPathFactory, a: Registry, b: Registry
) -> None:
    home = Home.load(tmp_path_factory.mktemp("h"))

    def become(target: Registry) -> None:
        def change(reg: Registry) -> None:
            reg.accounts, reg.keys = target.accounts, target.keys

        home.update_registry(change)

    become(a)
    assert home.registry() == a
    become(b)
    assert home.registry() == b
    home.close()


def test_each_thread_gets_its_own_connection(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    _big(home, 5)
    seen: list[object] = []
    errors: list[BaseException] = []
    inside = threading.Barrier(3)

    def worker() -> None:
        try:
            with home.store() as store:
                seen.append(store)
                inside.wait(5)  # all three hold one at once
                assert len(store.snapshot().keys) == 5
        except BaseException as exc:  # noqa: BLE001  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({id(s) for s in seen}) == 3
    home.close()
