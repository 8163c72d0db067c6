"""First run on kutui.db: a home written by today's TOML code (tests/store/data/home-toml, made
by tests/store/make_db_fixture.py) becomes one database, and a crash at any point leaves either
the old files in use or a complete database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kutui.errors import RegistryError
from kutui.paths import Paths
from kutui.store import migrate
from kutui.store.db import DB_NAME
from kutui.store.history import read_history
from kutui.store.migrate import migrate_home
from kutui.store.registry import read_registry
from kutui.store.sqlite_registry import RegistryStore

FIXTURE = Path(__file__).parent / "data" / "home-toml"


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    root = tmp_path / "home"
    shutil.copytree(FIXTURE, root)
    root.chmod(0o700)
    return Paths.resolve(root)


def originals(paths: Paths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (paths.accounts, paths.history)}


def test_a_toml_home_becomes_one_database(home: Paths) -> None:
    before = originals(home)
    registry, history = read_registry(home.accounts), read_history(home.history)
    assert any(k.last_check for k in registry.keys) and any(not k.note.empty for k in registry.keys)
    report = migrate_home(home)
    assert (report.migrated, report.keys, report.history_entries) == (True, 4, 9)
    with RegistryStore.open(home.data_dir) as store:
        assert store.snapshot() == registry
        assert store.histories() == history
    assert (home.data_dir / DB_NAME).stat().st_mode & 0o777 == 0o600
    assert not home.accounts.exists() and not home.history.exists()
    kept = {p.name.removesuffix(".migrated"): p.read_bytes() for p in report.renamed}
    assert kept == before  # the originals are kept, renamed, byte for byte
    assert sorted(p.name for p in home.data_dir.iterdir() if p.name.startswith(".")) == []


def test_migrating_again_does_nothing(home: Paths) -> None:
    migrate_home(home)
    again = migrate_home(home)
    assert (again.migrated, again.renamed, again.left_alone) == (False, [], [])


def test_a_new_home_gets_no_database_from_migration(tmp_path: Path) -> None:
    paths = Paths.resolve(tmp_path / "new")
    assert not migrate_home(paths).migrated
    assert not (paths.data_dir / DB_NAME).exists()


def test_a_bad_accounts_toml_is_one_error_and_nothing_changes(home: Paths) -> None:
    home.accounts.write_text("schema_version = 1\n[[keys]]\nid = 3\n")
    before = originals(home)
    with pytest.raises(RegistryError, match=r"accounts.toml: keys\[0\].ref: is required"):
        migrate_home(home)
    assert not (home.data_dir / DB_NAME).exists()
    assert originals(home) == before


def test_a_crash_before_the_database_is_in_place_keeps_the_old_files(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = originals(home)

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # stands in for a kill: nothing after this line runs

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        migrate_home(home)
    assert not (home.data_dir / DB_NAME).exists()
    assert originals(home) == before
    monkeypatch.undo()
    assert migrate_home(home).migrated


def test_temp_files_of_a_killed_migration_are_removed(home: Paths) -> None:
    for leftover in (f".{DB_NAME}.dead.part", f".{DB_NAME}.dead.part-wal"):
        (home.data_dir / leftover).write_bytes(b"half a database")
    assert migrate_home(home).migrated
    assert not [p for p in home.data_dir.iterdir() if p.name.startswith(f".{DB_NAME}")]


def test_a_crash_between_the_renames_is_finished_on_the_next_start(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = read_registry(home.accounts)
    real_replace = os.replace

    def crash_on_history(src: str | Path, dst: str | Path) -> None:
        if Path(src).name == "history.json":
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_history)
    with pytest.raises(KeyboardInterrupt):
        migrate_home(home)
    assert home.history.exists() and not home.accounts.exists()
    monkeypatch.undo()
    report = migrate_home(home)
    assert not report.migrated
    assert [p.name for p in report.renamed] == ["history.json.migrated"]
    with RegistryStore.open(home.data_dir) as store:
        assert store.snapshot() == registry


def test_a_crash_right_after_the_database_is_in_place_is_finished_too(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(paths: Paths, target: Path, report: migrate.MigrationReport) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(migrate, "_finish_renames", crash)
    with pytest.raises(KeyboardInterrupt):
        migrate_home(home)
    assert (home.data_dir / DB_NAME).exists() and home.accounts.exists()
    monkeypatch.undo()
    report = migrate_home(home)
    assert sorted(p.name for p in report.renamed) == [
        "accounts.toml.migrated",
        "history.json.migrated",
    ]


def test_an_original_changed_after_the_migration_is_left_alone(home: Paths) -> None:
    migrate_home(home)
    restored = home.accounts.with_name("accounts.toml.migrated")
    home.accounts.write_bytes(restored.read_bytes() + b"\n# edited\n")
    report = migrate_home(home)
    assert report.renamed == []
    assert len(report.left_alone) == 1
    assert report.left_alone[0].startswith(f"{home.accounts}: not used")
    assert home.accounts.exists()


def test_old_files_next_to_a_database_made_without_them_are_left_alone(home: Paths) -> None:
    RegistryStore.open(home.data_dir).close()
    report = migrate_home(home)
    assert not report.migrated and report.renamed == []
    assert [line.split("); ")[1] for line in report.left_alone] == [
        "kutui.db was created without migrating it, so it is left as it is"
    ] * 2
