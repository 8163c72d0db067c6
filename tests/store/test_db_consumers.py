"""The consumers table: the notes' free-text consumers become manual consumers on migration;
consumers travel in exports; removing a key removes its consumers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kutui.errors import RegistryError, UsageError
from kutui.model import (
    Account,
    ApiKey,
    Consumer,
    ConsumerKind,
    Delivery,
    DeliveryStatus,
    KeyRef,
    PermissionNote,
    Registry,
    now_utc,
)
from kutui.store.db import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, db_path, run_statements
from kutui.store.registry_export import Format, export_registry, import_registry
from kutui.store.sqlite_registry import RegistryStore


def old_database(data_dir: Path, consumers: list[object]) -> None:
    """A kutui.db as the kutui before consumers wrote it (schema 1), one key with a note."""
    data_dir.mkdir(mode=0o700)
    path = db_path(data_dir)
    conn = sqlite3.connect(path, isolation_level=None)
    run_statements(conn, MIGRATIONS[0])
    conn.execute(
        "INSERT INTO accounts (name, seq, api_url) VALUES ('main', 1, 'https://api.kucoin.com')"
    )
    conn.execute(
        "INSERT INTO keys (id, seq, account, label, note_consumers) "
        "VALUES ('k1', 1, 'main', 'bot', ?)",
        (json.dumps(consumers),),
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    path.chmod(0o600)


def test_note_consumers_become_manual_consumers_on_migration(tmp_path: Path) -> None:
    old_database(
        tmp_path / "d", ["grid.service@host-1", "tax export", "a/b", "", 7, "grid.service@host-1"]
    )
    with RegistryStore.open(tmp_path / "d") as store:
        assert store.db.user_version == SCHEMA_VERSION
        found = store.consumers("k1")
        assert [(c.name, c.kind) for c in found] == [
            ("grid.service@host-1", ConsumerKind.MANUAL),
            ("tax export", ConsumerKind.MANUAL),
        ]
        # The note still reads the same (an old export does too).
        key = store.key_by_id("k1")
        assert key is not None and "a/b" in key.note.consumers


def store_with_key(tmp_path: Path) -> RegistryStore:
    store = RegistryStore.open(tmp_path)
    registry = Registry(
        [Account("main")],
        [ApiKey("k1", KeyRef("main", "", "bot"), note=PermissionNote("", (), ("ops-team",)))],
    )
    with store.write() as tx:
        tx.replace_registry(registry)
    return store


def test_consumers_are_validated_and_removed_with_their_key(tmp_path: Path) -> None:
    with store_with_key(tmp_path) as store:
        with pytest.raises(UsageError, match="absolute"), store.write() as tx:
            tx.put_consumer(Consumer("k1", "env", ConsumerKind.ENVFILE, target="relative.env"))
        with store.write() as tx:
            tx.put_consumer(Consumer("k1", "env", ConsumerKind.ENVFILE, target="/srv/bot.env"))
            tx.record_delivery("k1", "env", Delivery(now_utc(), "aaaa", DeliveryStatus.DELIVERED))
        names = [c.name for c in store.consumers("k1")]
        assert names == ["ops-team", "env"]  # the note's, adopted by replace_registry, then env
        assert store.consumers("k1")[1].last_delivery is not None
        with store.write() as tx:
            tx.delete_key("k1")
        assert store.consumers() == []


def test_an_export_carries_consumers_and_imports_them_back(tmp_path: Path) -> None:
    with store_with_key(tmp_path / "a") as store:
        with store.write() as tx:
            tx.put_consumer(
                Consumer(
                    "k1",
                    "ft",
                    ConsumerKind.FREQTRADE,
                    target="/srv/ft.json",
                    reload="systemctl reload ft",
                )
            )
        fmts: tuple[Format, ...] = ("toml", "json")
        for fmt in fmts:
            text = export_registry(store, fmt)
            assert "ops-team" in text and "/srv/ft.json" in text
            with RegistryStore.open(tmp_path / f"b-{fmt}") as target:
                import_registry(target, text, fmt)
                got = [(c.name, c.kind, c.target, c.reload) for c in target.consumers("k1")]
                assert got == [
                    ("ops-team", ConsumerKind.MANUAL, "", ""),
                    ("ft", ConsumerKind.FREQTRADE, "/srv/ft.json", "systemctl reload ft"),
                ]


def test_a_bad_consumer_in_an_import_changes_nothing(tmp_path: Path) -> None:
    with store_with_key(tmp_path / "a") as store:
        text = export_registry(store, "toml")
        bad = text + '\n[[consumers]]\nkey_id = "k1"\nname = "x"\nkind = "ftp"\n'
        with pytest.raises(RegistryError, match=r"consumers\[0\]\.kind"):
            import_registry(store, bad, "toml")
        assert [c.name for c in store.consumers("k1")] == ["ops-team"]


def test_the_note_and_its_manual_consumers_stay_in_step(tmp_path: Path) -> None:
    """The TUI's note editor changes the note's list: its manual consumers follow."""
    with store_with_key(tmp_path) as store:
        with store.write() as tx:
            tx.put_consumer(Consumer("k1", "env", ConsumerKind.ENVFILE, target="/srv/bot.env"))

        def edit(registry: Registry) -> None:
            key = registry.key_by_id("k1")
            assert key is not None
            key.note.consumers = ("laptop",)

        with store.write() as tx:
            tx.update(edit)
        assert [(c.name, c.kind) for c in store.consumers("k1")] == [
            ("env", ConsumerKind.ENVFILE),
            ("laptop", ConsumerKind.MANUAL),
        ]
        with store.write() as tx:
            tx.set_note("k1", PermissionNote("", (), ()))
        assert [c.name for c in store.consumers("k1")] == ["env"]
