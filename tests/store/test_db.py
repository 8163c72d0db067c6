"""kutui.db itself: created private, refused when unsafe, damaged or newer, and safe with two
writers at once or a writer killed half way."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kutui.errors import LockTimeout, RegistryError, UnsafeFileError
from kutui.model import Account, ApiKey, CheckResult, KeyRef, Registry, Status
from kutui.store.db import APPLICATION_ID, DB_NAME, SCHEMA_VERSION, Database
from kutui.store.sqlite_registry import RegistryStore

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def registry(keys: int) -> Registry:
    return Registry(
        accounts=[Account("main")],
        keys=[ApiKey(f"k{i}", KeyRef("main", "", f"bot{i}")) for i in range(keys)],
    )


def test_the_database_and_its_companions_are_created_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = os.umask(0)
    try:
        with RegistryStore.open(home) as store, store.write() as tx:
            tx.replace_registry(registry(1))
            made = sorted(p.name for p in home.iterdir())
            modes = {p.name: p.stat().st_mode & 0o777 for p in home.iterdir()}
    finally:
        os.umask(old)
    assert made == [DB_NAME, f"{DB_NAME}-shm", f"{DB_NAME}-wal"]
    assert set(modes.values()) == {0o600}
    assert home.stat().st_mode & 0o777 == 0o700


def test_a_loose_mode_is_tightened_on_open(tmp_path: Path) -> None:
    Database.open(tmp_path / DB_NAME).close()
    (tmp_path / DB_NAME).chmod(0o644)
    Database.open(tmp_path / DB_NAME).close()
    assert (tmp_path / DB_NAME).stat().st_mode & 0o777 == 0o600


def test_the_pragmas_are_set(tmp_path: Path) -> None:
    with Database.open(tmp_path / DB_NAME) as db:
        names = ("journal_mode", "foreign_keys", "synchronous", "busy_timeout", "user_version")
        got = [db.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names]
        assert got == ["wal", 1, 2, 5000, SCHEMA_VERSION]  # synchronous 2 = FULL
        assert db.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_a_symlinked_database_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.db"
    Database.open(real).close()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / DB_NAME).symlink_to(real)
    with pytest.raises(UnsafeFileError, match="kutui.db: is a symbolic link"):
        RegistryStore.open(tmp_path / "home")


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the file away")
def test_a_database_of_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    Database.open(path).close()
    os.chown(path, 4242, 4242)
    with pytest.raises(UnsafeFileError, match="owned by uid 4242"):
        Database.open(path)


@pytest.mark.parametrize(
    "content",
    [b"accounts = []\n", b"SQLite format 3\x00" + b"\xff" * 200, os.urandom(8192)],
    ids=["toml", "bad header", "noise"],
)
def test_a_damaged_file_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(RegistryError) as caught:
        Database.open(path)
    assert str(caught.value).startswith(f"{path}: is not a usable kutui database")
    assert path.read_bytes() == content  # nothing overwritten


def test_a_truncated_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with RegistryStore.open_file(path) as store, store.write() as tx:
        tx.replace_registry(registry(300))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(RegistryError, match="is not a usable kutui database"):
        RegistryStore.open_file(path).snapshot()


def test_a_database_from_a_newer_kutui_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    Database.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RegistryError) as caught:
        Database.open(path)
    assert str(caught.value) == (
        f"{path}: has schema {SCHEMA_VERSION + 1}, written by a newer kutui "
        f"(this one knows up to {SCHEMA_VERSION}); upgrade kutui"
    )


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    path.chmod(0o600)
    with pytest.raises(RegistryError, match="is an SQLite database of another program"):
        Database.open(path)


def test_a_held_write_lock_gives_lock_timeout(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with Database.open(path) as holder, Database.open(path, timeout=0.2) as waiter:
        with holder.transaction():
            started = time.monotonic()
            held = "another kutui process has held the database"
            with pytest.raises(LockTimeout, match=held), waiter.transaction():
                pass
            assert time.monotonic() - started < 3
        with RegistryStore(waiter).write() as tx:  # free again
            tx.put_account(Account("main"))


def _write_results(data_dir: str, worker: int, count: int) -> None:
    with RegistryStore.open(Path(data_dir), timeout=30) as store:
        for i in range(count):
            result = CheckResult(Status.OK, T0 + timedelta(seconds=i), code=f"{worker}-{i}")
            with store.write() as tx:
                tx.record_results([(f"k{worker}", result)], limit=10_000)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    with RegistryStore.open(tmp_path) as store, store.write() as tx:
        tx.replace_registry(registry(2))
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_results, args=(str(tmp_path), w, 200)) for w in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with RegistryStore.open(tmp_path) as store:
        for w in (0, 1):
            codes = [e.code for e in store.history(f"k{w}")]
            assert codes == [f"{w}-{i}" for i in range(200)]
            key = store.key_by_id(f"k{w}")
            assert key is not None and key.last_check is not None
            assert key.last_check.code == f"{w}-199"


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from kutui.model import ApiKey, KeyRef
from kutui.store.sqlite_registry import RegistryStore

store = RegistryStore.open(Path(sys.argv[1]))
with store.write() as tx:
    for i in range(100, 5100):
        tx.put_key(ApiKey(f"k{i}", KeyRef("main", "", f"bot{i}")))
        if i == 2000:
            print("half", flush=True)
            time.sleep(60)
"""


def test_a_writer_killed_mid_transaction_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    with RegistryStore.open(tmp_path) as store, store.write() as tx:
        tx.replace_registry(registry(3))
    child = subprocess.Popen(  # noqa: S603  # our own interpreter and script
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"half\n"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    with RegistryStore.open(tmp_path) as store:
        assert store.snapshot() == registry(3)
        assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with store.write() as tx:  # and it takes writes again
            tx.put_key(ApiKey("k9", KeyRef("main", "", "bot9")))


def test_a_reader_opens_and_reads_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    with RegistryStore.open(tmp_path) as writer, writer.write() as tx:
        tx.replace_registry(registry(2))
    with RegistryStore.open(tmp_path) as writer, writer.write() as tx:
        tx.put_key(ApiKey("k7", KeyRef("main", "", "bot7")))  # not committed yet
        started = time.monotonic()
        with RegistryStore.open(tmp_path, timeout=0.5) as reader:
            assert reader.snapshot() == registry(2)  # the last committed state
        assert time.monotonic() - started < 0.5


def _open_and_add(data_dir: str, worker: int) -> None:
    with RegistryStore.open(Path(data_dir), timeout=30) as store, store.write() as tx:
        tx.put_account(Account(f"acct{worker}"))


def test_processes_creating_the_database_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_open_and_add, args=(str(tmp_path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with RegistryStore.open(tmp_path) as store:
        assert sorted(a.name for a in store.snapshot().accounts) == [f"acct{w}" for w in range(4)]
        assert store.db.user_version == SCHEMA_VERSION
