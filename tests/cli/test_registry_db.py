"""kutui.db as the registry, seen from the CLI: an old home migrated on first use, export and
import-registry, a damaged database, ``locate db`` and the database's files in the home review."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
    SubAccount,
)
from kutui.paths import Paths
from kutui.store.files import atomic_write
from kutui.store.history import HistoryEntry, dump_history
from kutui.store.home import Home
from kutui.store.registry import write_registry
from tests.cli.conftest import Cli
from tests.cli.test_end_to_end import kutui

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _registry() -> Registry:
    checked = CheckResult(Status.OK, T0, code="200000", latency_ms=40.5)
    return Registry(
        accounts=[Account("main", uid=1001, subaccounts=[SubAccount("bots", uid=2001)])],
        keys=[
            ApiKey("m1", KeyRef("main", "", "admin"), fingerprint="d3eb", added_at=T0),
            ApiKey(
                "s1",
                KeyRef("main", "bots", "grid"),
                fingerprint="a1b2",
                permissions_seen=("General", "Spot"),
                note=PermissionNote("grid bot", ("General", "Spot"), ("bot-host",)),
                last_check=checked,
            ),
        ],
    )


def _old_home(root: Path) -> Paths:
    """A home as kutui left it before kutui.db: accounts.toml and history.json."""
    root.mkdir(mode=0o700, exist_ok=True)
    paths = Paths.resolve(root)
    write_registry(paths.accounts, _registry())
    entry = HistoryEntry(T0, Status.OK, "200000", 200, 40.5)
    atomic_write(paths.history, dump_history({"s1": [entry, entry]}))
    return paths


def test_an_old_home_is_migrated_by_its_first_command(tmp_path: Path) -> None:
    paths = _old_home(tmp_path / "home")
    first = kutui("--home", str(paths.data_dir), "key", "list", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    listed = json.loads(first.stdout)["keys"]
    assert sorted(k["ref"] for k in listed) == ["main/admin", "main/bots/grid"]
    assert "moved the registry (2 key(s)) and 2 check result(s) into" in first.stderr
    assert paths.db.exists() and not paths.accounts.exists() and not paths.history.exists()
    assert (paths.data_dir / "accounts.toml.migrated").exists()
    again = kutui("--home", str(paths.data_dir), "key", "list", "--json", cwd=tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["keys"] == listed
    assert "moved" not in again.stderr
    home = Home.load(paths.data_dir)
    assert home.registry() == _registry()
    assert len(home.history("s1")) == 2


def test_locate_db_prints_the_database_path(cli: Cli, home: Path) -> None:
    result = cli("locate", "db")
    assert result.code == 0 and result.out.strip() == str(home / "kutui.db")
    assert not (home / "kutui.db").exists()  # locating opens nothing


def _fill(home: Path) -> None:
    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = _registry().accounts, _registry().keys

    opened = Home.load(home)
    opened.update_registry(replace)
    opened.close()  # the last connection closed: SQLite checkpoints and removes the -wal file


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_export_then_import_registry_round_trips(
    cli: Cli, home: Path, tmp_path: Path, fmt: str
) -> None:
    _fill(home)
    exported = cli("export", "--format", fmt)
    assert exported.code == 0, exported.err
    if fmt == "json":
        assert json.loads(exported.out)["keys"][1]["note"]["text"] == "grid bot"
    path = tmp_path / f"registry.{fmt}"
    path.write_text(exported.out)
    Home.load(home).update_registry(lambda reg: setattr(reg, "keys", reg.keys[:1]))
    imported = cli("import-registry", str(path))
    assert imported.code == 0, imported.err
    assert "imported 1 account(s) and 2 key(s)" in imported.err
    assert Home.load(home).registry() == _registry()
    assert cli("export", "--format", fmt).out == exported.out


def test_export_without_checks_and_an_import_that_drops_a_key(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    _fill(home)
    Home.load(home).record_results([("s1", CheckResult(Status.OK, T0))])
    bare = cli("export", "--no-checks")
    assert "last_check" not in bare.out and "checked_at" not in bare.out
    path = tmp_path / "registry.toml"
    path.write_text(bare.out.replace('id = "m1"', 'id = "m1x"'))
    result = cli("import-registry", str(path))
    assert result.code == 0, result.err
    assert "removed 1 key(s) registry.toml does not list" in result.err
    after = Home.load(home)
    kept = after.registry().key_by_id("s1")
    assert kept is not None and kept.last_check is not None  # its own last check is kept
    assert after.history("s1") and after.registry().key_by_id("m1") is None


@pytest.mark.parametrize(
    ("text", "fmt", "names"),
    [
        ("schema_version = 1\n[[accounts]]\nname = 'a b'\n", "toml", "accounts[0].name"),
        ("schema_version = 1\n[[accounts]\n", "toml", "line 2"),
        ('{"schema_version": 1, "accounts": [{"name": 7}]}', "json", "accounts[0].name"),
        ("[1, 2]", "json", "not a JSON object"),
        ('{"schema_version": 99}', "json", "schema_version"),
    ],
)
def test_a_bad_import_is_one_line_and_changes_nothing(
    cli: Cli, home: Path, tmp_path: Path, text: str, fmt: str, names: str
) -> None:
    _fill(home)
    path = tmp_path / f"bad.{fmt}"
    path.write_text(text)
    result = cli("import-registry", str(path))
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kutui: {path}: "), result.err
    assert names in lines[0]
    assert Home.load(home).registry() == _registry()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_an_import(
    cli: Cli, home: Path, tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "any.toml"
    path.write_bytes(data)
    result = cli("import-registry", str(path))
    assert result.code in (0, 2) and "unexpected" not in result.err


@pytest.mark.parametrize(
    "damage", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_damaged_database_is_one_line_and_exit_2(cli: Cli, home: Path, damage: bytes) -> None:
    db = Paths.resolve(home).db
    db.write_bytes(damage)
    db.chmod(0o600)
    for argv in (("key", "list"), ("export",), ("account", "add", "other")):
        result = cli(*argv)
        assert result.code == 2, result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kutui: {db}: "), result.err
        assert "Traceback" not in result.err
    assert db.read_bytes() == damage
    doctor = cli("doctor")
    assert doctor.code == 1 and f"FAIL  registry  {db}" in doctor.out


def test_the_home_review_covers_the_database_files(cli: Cli, home: Path) -> None:
    _fill(home)
    wal = home / "kutui.db-wal"
    assert not wal.exists()
    wal.write_bytes(b"")
    wal.chmod(0o644)
    result = cli("account", "list")
    assert f"{wal} has mode 0644" in result.err
    shm = home / "kutui.db-shm"
    shm.unlink(missing_ok=True)
    shm.write_bytes(b"")
    shm.chmod(0o640)
    doctor = cli("doctor")
    assert f"{shm} has mode 0640" in doctor.out, doctor.out


def test_doctor_reads_an_old_home_without_migrating_it(cli: Cli, home: Path) -> None:
    paths = _old_home(home)
    result = cli("doctor")
    assert f"INFO  registry  {paths.db} does not exist yet" in result.out
    assert "moves 2 key(s) into it" in result.out
    assert paths.accounts.exists() and not paths.db.exists()
