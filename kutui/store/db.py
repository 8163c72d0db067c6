"""kutui.db: open the SQLite database safely, migrate its schema, run one transaction per change.

The file lives in the data directory (``kutui.store.files.ensure_private_dir``) and is created
0600 before SQLite opens it; a symlink or a file of another user is refused, as
``kutui.store.files.read_private`` refuses them. SQLite creates its ``-wal`` and ``-shm``
companions with the database file's mode, so they are private too.

Pragmas (docs/storage.md says why): WAL, so readers (the TUI, ``key list``) never wait for a
writer; foreign keys on; a busy timeout so that a second writer waits its turn; and
``synchronous=FULL``: a registry change often goes with a vault write (a key added, a rotation
step), and the row must be as durable as the credential it describes.

Every write runs in ``transaction()``: ``BEGIN IMMEDIATE`` takes the write lock up front, so two
writers queue at the start instead of one failing half way through with SQLITE_BUSY.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from kutui.errors import LockTimeout, RegistryError, UnsafeFileError
from kutui.paths import DB_NAME as DB_NAME
from kutui.store.files import FILE_MODE, ensure_private_dir

#: ``PRAGMA application_id`` ("kutu"): tells a kutui database from another program's.
APPLICATION_ID = 0x6B757475
DEFAULT_TIMEOUT = 5.0

#: Schema migrations: step N (0-based) brings ``user_version`` from N to N + 1. Append only; a
#: released step is never edited (a database may already have run it).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # Order columns (seq) keep the registry's list order: rowids may change on VACUUM.
        """CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            api_url TEXT NOT NULL,
            uid INTEGER,
            remark TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE subaccounts (
            account TEXT NOT NULL REFERENCES accounts(name) ON UPDATE CASCADE ON DELETE CASCADE,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            uid INTEGER,
            remote TEXT NOT NULL DEFAULT 'unknown',
            remark TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (account, name)
        )""",
        # sub is NULL for a master-account key: SQLite skips a foreign key with a NULL column,
        # so a master key needs no sub-account row; the unique index below treats NULL as ''.
        """CREATE TABLE keys (
            id TEXT PRIMARY KEY CHECK (id <> ''),
            seq INTEGER NOT NULL,
            account TEXT NOT NULL REFERENCES accounts(name) ON UPDATE CASCADE,
            sub TEXT,
            label TEXT NOT NULL,
            fingerprint TEXT NOT NULL DEFAULT '' CHECK (length(fingerprint) <= 4),
            api_version INTEGER NOT NULL DEFAULT 3 CHECK (api_version IN (1, 2, 3)),
            created_at TEXT,
            added_at TEXT,
            expire_days INTEGER NOT NULL DEFAULT -1,
            permissions_seen TEXT NOT NULL DEFAULT '[]',
            ip_whitelist_seen TEXT NOT NULL DEFAULT '',
            remark TEXT NOT NULL DEFAULT '',
            remote TEXT NOT NULL DEFAULT 'unknown',
            has_secret INTEGER NOT NULL DEFAULT 0,
            note_text TEXT NOT NULL DEFAULT '',
            note_expected TEXT NOT NULL DEFAULT '[]',
            note_consumers TEXT NOT NULL DEFAULT '[]',
            last_check TEXT,
            FOREIGN KEY (account, sub) REFERENCES subaccounts(account, name) ON UPDATE CASCADE
        )""",
        "CREATE UNIQUE INDEX keys_ref ON keys (account, coalesce(sub, ''), label)",
        "CREATE INDEX keys_seq ON keys (seq)",
        # Foreign-key cascades look keys up by owner: without this a rename scans every key.
        "CREATE INDEX keys_owner ON keys (account, sub)",
        # Per-host: no foreign key to keys (docs/storage.md, "What is per-host").
        """CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            status TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '',
            http_status INTEGER NOT NULL DEFAULT 0,
            latency_ms REAL NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX history_key ON history (key_id, id)",
        # Small facts about the database itself (where it was migrated from).
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # A key's consumers (README.md, "Consumers"). No foreign key to keys: replace_registry
        # empties and refills keys, which a cascade would turn into losing every consumer;
        # delete_key removes a key's consumers itself.
        """CREATE TABLE consumers (
            key_id TEXT NOT NULL,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            username TEXT NOT NULL DEFAULT '',
            reload TEXT NOT NULL DEFAULT '',
            env_prefix TEXT NOT NULL DEFAULT 'KUCOIN_API',
            delivered_at TEXT,
            delivered_fingerprint TEXT NOT NULL DEFAULT '',
            delivery_status TEXT NOT NULL DEFAULT '',
            delivery_detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (key_id, name)
        )""",
        # put_consumer numbers a new row max(seq) + 1: indexed, a 10,000-key import stays linear.
        "CREATE INDEX consumers_seq ON consumers (seq)",
        # The notes' free-text consumers become manual consumers (the note keeps its list, so
        # an old export still reads the same). Only names of printable ASCII but "/", without
        # outer spaces, here; any other name the consumer rule (kutui.model) accepts is picked
        # up from the note when it is used (kutui.rotation.engine.consumers_for).
        """INSERT OR IGNORE INTO consumers (key_id, name, seq, kind)
            SELECT keys.id, j.value, keys.seq * 1000 + j.key, 'manual'
            FROM keys, json_each(keys.note_consumers) AS j
            WHERE j.type = 'text' AND length(j.value) BETWEEN 1 AND 64
                AND trim(j.value) = j.value AND j.value NOT GLOB '*[^ -.0-~]*'""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def create_private(path: Path) -> None:
    """Create ``path`` 0600 if absent; refuse a symlink, a non-file or another user's file.

    An existing file is judged by ``lstat`` and never opened here: closing any descriptor of
    kutui.db drops every POSIX lock this process's SQLite connections hold on it, after which
    another process may take the database for unused and delete its write-ahead log under a
    connection that is still writing (docs/storage.md, "Opening the file")."""
    ensure_private_dir(path.parent)
    try:
        st = path.lstat()
    except FileNotFoundError:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        except FileExistsError:  # another process created it first: judge theirs below
            st = path.lstat()
        except OSError as exc:
            raise RegistryError(path, f"cannot be created ({exc.strerror or exc})") from None
        else:
            os.fchmod(fd, FILE_MODE)  # mkstemp-like: 0600 whatever the umask
            os.close(fd)  # no connection to this new file exists yet, so no lock to drop
            return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFileError(path, "is a symbolic link; refusing to open it")
    if not stat.S_ISREG(st.st_mode):
        raise RegistryError(path, "is not a regular file")
    if st.st_uid != os.getuid():
        raise UnsafeFileError(path, f"is owned by uid {st.st_uid}, not by you; refusing to open it")
    if stat.S_IMODE(st.st_mode) != FILE_MODE:
        path.chmod(FILE_MODE)  # not a symlink (checked above), in a directory only we can write


class Database:
    """One connection to kutui.db (use it from one thread; open another for another thread)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float) -> None:
        self.path = path
        self.conn = conn
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Database({self.path})"

    @classmethod
    def open(
        cls, path: Path, *, timeout: float = DEFAULT_TIMEOUT, check_same_thread: bool = True
    ) -> Database:
        """Open (creating if needed) and migrate ``path``; RegistryError/UnsafeFileError if not.

        ``check_same_thread=False`` is for a caller that hands the connection to one thread at a
        time (``kutui.store.home``'s pool); sqlite3 then no longer checks it."""
        create_private(path)
        try:
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=check_same_thread
            )
        except sqlite3.Error as exc:
            raise RegistryError(path, f"cannot be opened ({exc})") from None
        db = cls(path, conn, timeout)
        try:
            db._configure()
            db._migrate()
        except BaseException:
            conn.close()
            raise
        return db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _damaged(self, exc: sqlite3.Error) -> RegistryError:
        return RegistryError(self.path, f"is not a usable kutui database ({exc})")

    def _configure(self) -> None:
        with self._translated():
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA synchronous = FULL")
        if mode is None or str(mode[0]).lower() != "wal":
            raise RegistryError(
                self.path, f"cannot use write-ahead logging (journal mode {mode!r})"
            )

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's errors as one line naming the file: busy past the timeout, or damaged."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _is_locked(exc):
                raise self._lock_timeout() from None
            raise self._damaged(exc) from None
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None

    def _lock_timeout(self) -> LockTimeout:
        return LockTimeout(
            self.path, f"another kutui process has held the database for {self.timeout:.0f} s"
        )

    @property
    def user_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Refuse a foreign or newer database; bring an older one up to ``SCHEMA_VERSION``.

        An up-to-date database is only read here, so opening one never waits for a writer."""
        with self._translated():
            if self._schema_checked() == SCHEMA_VERSION:
                return
            with self.transaction() as conn:
                version = self._schema_checked()  # another process may have migrated meanwhile
                for step in MIGRATIONS[version:]:
                    run_statements(conn, step)
                if version < SCHEMA_VERSION:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _schema_checked(self) -> int:
        version = self.user_version
        app_id = int(self.conn.execute("PRAGMA application_id").fetchone()[0])
        if app_id != APPLICATION_ID and (app_id != 0 or version != 0 or self._has_tables()):
            raise RegistryError(self.path, "is an SQLite database of another program")
        if version > SCHEMA_VERSION:
            raise RegistryError(
                self.path,
                f"has schema {version}, written by a newer kutui "
                f"(this one knows up to {SCHEMA_VERSION}); upgrade kutui",
            )
        return version

    def _has_tables(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: empty when the file is sound, else its findings."""
        try:
            rows = self.conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        found = [str(row[0]) for row in rows]
        return [] if found == ["ok"] else found

    @property
    def journal_mode(self) -> str:
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ROLLBACK if the block raises.

        The busy timeout makes SQLite retry the write lock for ``timeout`` seconds; past that a
        ``LockTimeout`` names the file. A disk error becomes one RegistryError line."""
        if self.conn.in_transaction:  # SQLite has no nested BEGIN: a caller's bug
            raise RuntimeError(f"{self.path}: a transaction is already open on this connection")
        with self._translated():
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                if _is_locked(exc):
                    raise self._lock_timeout() from None
                raise RegistryError(
                    self.path, f"could not be saved ({exc}); the database is unchanged"
                ) from None
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.IntegrityError
            ):
                raise self._damaged(exc) from None
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same committed state (WAL snapshot).
        Inside ``transaction()`` it simply reads there (seeing the transaction's own writes)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN DEFERRED")
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        try:
            with self._translated():
                yield self.conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("COMMIT")


def run_statements(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    """Run a migration step statement by statement (``executescript`` would COMMIT first)."""
    for statement in statements:
        conn.execute(statement)
