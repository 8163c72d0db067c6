"""First run on the database: accounts.toml + history.json become kutui.db, crash-safely.

The recipe (docs/storage.md, "Migration"):

1. under accounts.toml's and history.json's locks (today's writers take them, so neither file
   changes meanwhile), read both files with their strict readers;
2. build the whole database under a temp name in the data directory, in one transaction, with
   the SHA-256 of each original in its ``meta`` table; close it (the WAL is checkpointed into the
   file) and fsync it;
3. rename it to kutui.db and fsync the directory: from here on the database is in use;
4. rename each original to ``<name>.migrated`` (kept, never deleted).

A crash before 3 leaves the originals in use (and a temp file, removed at the next run); a crash
after 3 leaves a complete database, and the next run finishes step 4: an original whose SHA-256
matches the one recorded is renamed. One that does not match (someone restored or edited it
after the migration) is left alone and reported, since kutui cannot know which copy is right.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from kutui.errors import RegistryError
from kutui.paths import Paths
from kutui.store.db import DB_NAME, db_path
from kutui.store.files import TEMP_SUFFIX, ensure_private_dir, fsync_dir, locked, read_private
from kutui.store.history import parse_history
from kutui.store.registry import parse_registry
from kutui.store.sqlite_registry import RegistryStore

MIGRATED_SUFFIX = ".migrated"
log = logging.getLogger(__name__)


@dataclass
class MigrationReport:
    """What ``migrate_home`` did; ``migrated`` is False when there was nothing to migrate."""

    database: Path
    migrated: bool = False
    keys: int = 0
    history_entries: int = 0
    renamed: list[Path] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)  # one line per original not renamed


def _originals(paths: Paths) -> dict[str, Path]:
    return {"accounts": paths.accounts, "history": paths.history}


def _read(path: Path) -> bytes | None:
    try:
        return read_private(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(path, f"cannot be read ({exc.strerror or exc})") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _remove_temps(directory: Path) -> None:
    """Temp databases of a migration that died (we hold the lock: no live migration owns one)."""
    for entry in directory.glob(f".{DB_NAME}.*{TEMP_SUFFIX}*"):
        with contextlib.suppress(OSError):
            entry.unlink()


def migrate_home(paths: Paths) -> MigrationReport:
    """Make sure the home's registry and history are in kutui.db (see the module docstring).

    Safe to call on every start: with a database and no originals it does nothing. Call it
    before the first ``RegistryStore.open`` of the home: a database created first is never
    filled from the old files (they are then reported in ``left_alone``)."""
    target = db_path(paths.data_dir)
    report = MigrationReport(target)
    ensure_private_dir(paths.data_dir)
    # Both files' locks, as today's writers take them (one at a time, so never a deadlock).
    with locked(paths.accounts), locked(paths.history):
        _remove_temps(paths.data_dir)
        if not target.exists() and not target.is_symlink():
            originals = {name: _read(path) for name, path in _originals(paths).items()}
            if all(data is None for data in originals.values()):
                return report  # a new home: the database is created when first opened
            _build(paths, target, originals, report)
        _finish_renames(paths, target, report)
    return report


def _build(
    paths: Paths, target: Path, originals: dict[str, bytes | None], report: MigrationReport
) -> None:
    accounts, history_data = originals["accounts"], originals["history"]
    registry = parse_registry(paths.accounts, accounts) if accounts is not None else None
    history = parse_history(paths.history, history_data) if history_data is not None else {}
    temp = target.with_name(f".{DB_NAME}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with RegistryStore.open_file(temp) as store, store.write() as tx:
            if registry is not None:
                tx.replace_registry(registry)
            for key_id, entries in history.items():
                tx.add_history(key_id, entries)
            for name, data in originals.items():
                if data is not None:
                    tx.set_meta(f"migrated_from.{name}", _sha256(data))
        # Closed: SQLite has checkpointed the WAL into the file and removed it.
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, target)  # we hold the lock and checked: nothing to overwrite
        fsync_dir(target.parent)
    except BaseException:
        _remove_temps(target.parent)
        raise
    report.migrated = True
    report.keys = len(registry.keys) if registry is not None else 0
    report.history_entries = sum(len(entries) for entries in history.values())
    log.info("migrated %d key(s) into %s", report.keys, target)


def _finish_renames(paths: Paths, target: Path, report: MigrationReport) -> None:
    pending = {name: path for name, path in _originals(paths).items() if path.exists()}
    if not pending:
        return
    with RegistryStore.open_file(target) as store:
        recorded = {name: store.meta(f"migrated_from.{name}") for name in pending}
    for name, path in pending.items():
        data = _read(path)
        if data is None:
            continue
        if recorded[name] != _sha256(data):
            why = (
                "it differs from the copy that was migrated"
                if recorded[name] is not None
                else f"{target.name} was created without migrating it"
            )
            report.left_alone.append(
                f"{path}: not used ({target.name} holds the registry); "
                f"{why}, so it is left as it is"
            )
            continue
        moved = path.with_name(path.name + MIGRATED_SUFFIX)
        os.replace(path, moved)
        fsync_dir(path.parent)
        report.renamed.append(moved)
