"""Registry speed, side by side: today's accounts.toml + history.json vs kutui.db (SQLite).

For 1,000 and 10,000 keys (each with 10 history entries), the median of several runs of what a
fresh CLI process pays: a full read, one key read, one key's result recorded, and 1,000 results
recorded in one batch. TOML: what kutui did before kutui.db (read_registry; under the lock,
re-read, apply, write_registry + append_history). Database: a new ``RegistryStore.open`` per run
(the open is counted), ``snapshot()`` / ``key_by_id`` / ``record_results``. Then, on kutui.db
through ``Home``: one note changed with ``update_registry`` (which writes only the changed row),
and a whole ``kutui key list --json`` process. Prints figures; asserts nothing.
Run: .venv/bin/python bench/registry.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
    SubAccount,
    now_utc,
)
from kutui.paths import Paths
from kutui.store.config import Config
from kutui.store.files import atomic_write, locked
from kutui.store.history import HistoryEntry, append_history, dump_history
from kutui.store.home import Home
from kutui.store.learn import apply_results
from kutui.store.registry import read_registry, write_registry
from kutui.store.sqlite_registry import RegistryStore

RUNS = 5
HISTORY_PER_KEY = 10


def build(keys: int) -> Registry:
    subs = [SubAccount(f"sub{i}") for i in range(100)]
    now = now_utc()
    return Registry(
        accounts=[Account("main", subaccounts=subs)],
        keys=[
            ApiKey(
                f"id{i:06d}",
                KeyRef("main", f"sub{i % 100}", f"bot{i}"),
                fingerprint=f"{i % 10000:04d}",
                added_at=now,
                has_secret=True,
                note=PermissionNote("grid bot", ("General", "Spot"), ("host-a",)),
                last_check=CheckResult(Status.OK, now, permissions=("General", "Spot")),
            )
            for i in range(keys)
        ],
    )


def result(index: int) -> CheckResult:
    return CheckResult(
        Status.OK,
        now_utc() + timedelta(seconds=index),
        code="200000",
        http_status=200,
        latency_ms=42.0,
        permissions=("General", "Spot"),
        uid=1000 + index % 100,
    )


def median(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Toml:
    def __init__(self, root: Path, registry: Registry) -> None:
        self.paths = Paths.resolve(root)
        with locked(self.paths.accounts):
            write_registry(self.paths.accounts, registry)
        entries = [HistoryEntry.of(result(i)) for i in range(HISTORY_PER_KEY)]
        history = {k.id: list(entries) for k in registry.keys}
        atomic_write(self.paths.history, dump_history(history))

    def read_all(self) -> object:
        return read_registry(self.paths.accounts)

    def read_one(self, key_id: str) -> object:
        return read_registry(self.paths.accounts).key_by_id(key_id)

    def record(self, batch: list[tuple[str, CheckResult]]) -> None:
        with locked(self.paths.accounts):
            registry = read_registry(self.paths.accounts)
            apply_results(registry, batch)
            write_registry(self.paths.accounts, registry)
        append_history(self.paths.history, batch)


class Sqlite:
    def __init__(self, root: Path, registry: Registry) -> None:
        self.root = root
        entries = [HistoryEntry.of(result(i)) for i in range(HISTORY_PER_KEY)]
        with RegistryStore.open(root) as store, store.write() as tx:
            tx.replace_registry(registry)
            for key in registry.keys:
                tx.add_history(key.id, entries)

    def read_all(self) -> object:
        with RegistryStore.open(self.root) as store:
            return store.snapshot()

    def read_one(self, key_id: str) -> object:
        with RegistryStore.open(self.root) as store:
            return store.key_by_id(key_id)

    def record(self, batch: list[tuple[str, CheckResult]]) -> None:
        with RegistryStore.open(self.root) as store, store.write() as tx:
            tx.record_results(batch)


def run(size: int) -> None:
    registry = build(size)
    one = [(registry.keys[size // 2].id, result(1))]
    batch = [(registry.keys[i * size // 1000].id, result(i)) for i in range(1000)]
    with tempfile.TemporaryDirectory() as directory:
        toml = Toml(Path(directory) / "toml", registry)
        db = Sqlite(Path(directory) / "db", registry)
        toml_size = (toml.paths.accounts.stat().st_size + toml.paths.history.stat().st_size) / 1e6
        db_size = sum(p.stat().st_size for p in db.root.iterdir()) / 1e6
        print(f"\n{size:,} keys ({HISTORY_PER_KEY} history entries each), median of {RUNS} runs")
        print(f"  {'':<30} {'TOML + JSON':>12} {'kutui.db':>12} {'speed-up':>9}")
        print(f"  {'files (MB)':<30} {toml_size:12.2f} {db_size:12.2f}")
        rows: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("full read (snapshot)", toml.read_all, db.read_all),
            ("one key read", lambda: toml.read_one(one[0][0]), lambda: db.read_one(one[0][0])),
            ("one key's result recorded", lambda: toml.record(one), lambda: db.record(one)),
            ("1,000 results in one batch", lambda: toml.record(batch), lambda: db.record(batch)),
        ]
        for label, on_toml, on_db in rows:
            t, d = median(on_toml), median(on_db)
            print(f"  {label:<30} {t:10.3f} s {d:10.3f} s {t / d:8.1f}x")
        print(f"  {'Home.update_registry, one note':<30} {median(lambda: note(db.root)):23.3f} s")
        print(
            f"  {'kutui key list --json process':<30} {median(lambda: key_list(db.root)):23.3f} s"
        )


def note(root: Path) -> None:
    key_id = "id000007"

    def change(registry: Registry) -> None:
        key = registry.key_by_id(key_id)
        if key is not None:
            key.note = PermissionNote(f"bench {time.perf_counter()}")

    home = Home(Paths.resolve(root), Config())  # a fresh process: opens kutui.db
    home.update_registry(change)
    home.close()


def key_list(root: Path) -> None:
    env = {**os.environ, "KUTUI_HOME": str(root)}
    subprocess.run(  # noqa: S603  # nosec B603  # our own interpreter and arguments
        [sys.executable, "-m", "kutui", "key", "list", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def main() -> None:
    for size in (1_000, 10_000):
        run(size)


if __name__ == "__main__":
    main()
