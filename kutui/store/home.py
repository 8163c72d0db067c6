"""``Home``: the one door to a kutui home: its paths, config, registry, app state and vault.

The registry and check history are in kutui.db (docs/storage.md): every registry change is one
write transaction (``update_registry``), which re-reads inside the transaction, so two processes
saving at once never lose each other's updates. App state (state.toml) is changed under its
file's lock: re-read, change, write atomically (``update_state``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kutui.model import ApiKey, CheckResult, Consumer, Delivery, Registry
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.config import Config, load_config
from kutui.store.files import check_safe_dir, locked, remove_stale_temps
from kutui.store.state import AppState, read_state, write_state

if TYPE_CHECKING:  # the vault pulls in cryptography, kutui.db sqlite3: paid for when used
    from kutui.store.history import History, HistoryEntry
    from kutui.store.migrate import MigrationReport
    from kutui.store.openbao.store import SharedStore
    from kutui.store.sqlite_registry import RegistryStore
    from kutui.store.vault import Vault, VaultData

__all__ = [
    "AppState",
    "Home",
    "read_passphrase_file",
    "read_passphrase_sources",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


def read_passphrase_file(path: Path) -> Secret:
    """The vault passphrase: the file's first line (``kutui.store.unlock`` rules: a regular file
    you own, no symlink, NFC-normalised). A group/world-readable file is logged as a warning."""
    from kutui.store.unlock import read_passphrase_file as read

    found = read(path)
    for warning in found.warnings:
        log.warning("%s", warning)
    return found.secret


def read_passphrase_sources(passphrase_file: Path | None) -> Secret | None:
    """``--passphrase-file``, else ``$CREDENTIALS_DIRECTORY/kutui-passphrase``, else None."""
    from kutui.store.unlock import credentials_file

    path = passphrase_file if passphrase_file is not None else credentials_file()
    return read_passphrase_file(path) if path is not None else None


def _saving(path: Path, write: Callable[[Path, T], None], value: T) -> None:
    """``write(path, value)``; a disk error (ENOSPC, EIO, read-only) is one line naming the file."""
    from kutui.errors import RegistryError

    try:
        write(path, value)
    except OSError as exc:
        raise RegistryError(
            path, f"could not be saved ({exc.strerror or exc}); the file is unchanged"
        ) from None


class _StorePool:
    """Connections to kutui.db, each lent to one thread at a time.

    sqlite3 ties a connection to the thread that opened it; the TUI reads and saves in thread
    workers, each a new thread. A connection per thread would leave one open per finished worker;
    one shared connection behind a lock would make a save wait for a 10,000-key read. So
    connections are opened with ``check_same_thread=False`` and lent out exclusively: two
    threads get two connections (WAL: a reader never waits for a writer), and idle ones are
    reused and closed by ``close``."""

    MAX_IDLE = 4

    def __init__(self, opener: Callable[[], RegistryStore]) -> None:
        self._opener = opener
        self._idle: list[RegistryStore] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # A forked child must not use (nor close: that could drop the parent's locks) the
        # parent's connections (sqlite.org/howtocorrupt.html, 2.6): they are kept, unused.
        self._inherited: list[RegistryStore] = []

    @contextlib.contextmanager
    def lease(self) -> Iterator[RegistryStore]:
        with self._lock:
            if self._pid != os.getpid():
                self._inherited += self._idle
                self._idle, self._pid = [], os.getpid()
            store = self._idle.pop() if self._idle else None
        if store is None:
            store = self._opener()
        try:
            yield store
        finally:
            with self._lock:
                keep = len(self._idle) < self.MAX_IDLE
                if keep:
                    self._idle.append(store)
            if not keep:
                store.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for store in idle:
            store.close()


class Home:
    paths: Paths
    config: Config
    #: Where a one-line notice goes (the CLI's ``kutui: ...`` lines); None: logging only.
    notify: Callable[[str], None] | None = None

    def __init__(self, paths: Paths, config: Config) -> None:
        self.paths = paths
        self.config = config
        # kutui.db is opened on first use: locate, simulate and --help never pay for it.
        self._stores = _StorePool(self._open_store)
        self._migration_checked = False
        self._migration_lock = threading.Lock()
        weakref.finalize(self, self._stores.close)
        # config.toml's [store]: "openbao" puts the registry and the credentials on a shared
        # server (kutui.store.openbao); connected on first use.
        self._shared: SharedStore | None = None
        self._shared_lock = threading.Lock()
        if self.is_shared:
            from kutui.store.openbao.store import register_rotations_dir

            me = weakref.ref(self)  # the registration must not keep this Home alive

            def shared() -> SharedStore | None:
                home = me()
                return home.shared() if home is not None else None

            register_rotations_dir(str(paths.rotations_dir), shared)

    def __repr__(self) -> str:
        return f"Home({self.paths.data_dir})"

    @classmethod
    def load(cls, home: str | Path | None = None) -> Home:
        """Resolve paths (``--home``/``KUTUI_HOME``/platformdirs), load config.toml (ConfigError if
        bad; defaults if absent), remove stale temp files. kutui.db is opened (and an old home's
        accounts.toml + history.json migrated into it) when the registry is first used."""
        paths = Paths.resolve(home)
        for directory in (*paths.all_dirs(), paths.rotations_dir):
            check_safe_dir(directory)  # before reading or deleting anything there
        config = load_config(paths.config)
        for directory in (*paths.all_dirs(), paths.rotations_dir):
            for removed in remove_stale_temps(directory):
                log.info("removed a temp file left by an interrupted save: %s", removed)
        return cls(paths, config)

    def close(self) -> None:
        """Close the idle kutui.db connections (the next use opens one again)."""
        self._stores.close()

    # ----------------------------------------------------------------------- the store

    @property
    def is_shared(self) -> bool:
        """True when the keys live on OpenBao (``[store] kind = "openbao"``)."""
        return self.config.store.kind == "openbao"

    def shared(self) -> SharedStore:
        """The OpenBao store (``is_shared`` only); hvac is imported, the token found, here."""
        with self._shared_lock:
            if self._shared is None:
                from kutui.store.openbao.client import Settings
                from kutui.store.openbao.store import SharedStore

                self._shared = SharedStore(Settings.from_config(self.config.store))
            return self._shared

    # ----------------------------------------------------------------------- kutui.db

    def _open_store(self) -> RegistryStore:
        from kutui.store.sqlite_registry import RegistryStore

        self._migrate_once()
        return RegistryStore.open(self.paths.data_dir, check_same_thread=False)

    def _migrate_once(self) -> None:
        """Before the first open: an old home's files become kutui.db (docs/storage.md)."""
        with self._migration_lock:
            if self._migration_checked:
                return
            if self.paths.accounts.exists() or self.paths.history.exists():
                from kutui.store.migrate import migrate_home

                self._report_migration(migrate_home(self.paths))
            self._migration_checked = True

    def _report_migration(self, report: MigrationReport) -> None:
        if report.migrated:
            line = (
                f"moved the registry ({report.keys} key(s)) and {report.history_entries} "
                f"check result(s) into {report.database}"
            )
            log.info("%s", line)
            if self.notify is not None:
                self.notify(line)
        for moved in report.renamed:
            log.info("kept the original as %s", moved)
        for line in report.left_alone:
            log.warning("%s", line)

    @contextlib.contextmanager
    def store(self) -> Iterator[RegistryStore]:
        """A connection to kutui.db for this thread, for as long as the block runs."""
        with self._stores.lease() as store:
            yield store

    # ----------------------------------------------------------------------- registry

    def _no_database(self) -> bool:
        """No kutui.db (once an old home is migrated): an empty registry, which a read must not
        create on disk (a refused command changes nothing)."""
        self._migrate_once()
        return not (self.paths.db.exists() or self.paths.db.is_symlink())

    def registry(self) -> Registry:
        """The registry as last committed (a private copy: the caller may change it freely)."""
        if self.is_shared:
            return self.shared().registry()
        if self._no_database():
            return Registry()
        with self.store() as store:
            return store.snapshot()

    def key_rows(self, account: str | None = None, sub: str | None = None) -> list[tuple[Any, ...]]:
        """The kutui.db rows (``kutui.store.sqlite_registry.KEY_COLUMNS``) of every key, or of
        ``account``'s (``sub`` None: all of them, else that node's), in ``KeyRef`` order; on
        OpenBao made from its registry (``key_row``)."""
        if self.is_shared:
            from kutui.store.sqlite_registry import key_row

            registry = self.registry()
            keys = registry.keys if account is None else registry.keys_under(account, sub)
            return [key_row(k) for k in sorted(keys, key=lambda k: k.ref)]
        if self._no_database():
            return []
        with self.store() as store:
            return store.key_rows(account, sub)

    def registry_of(self, accounts: Iterable[str]) -> Registry:
        """The named accounts and their keys only (``RegistryStore.subset``): what a command
        about a few keys needs, without reading the other 10,000."""
        if self._no_database():
            return Registry()
        with self.store() as store:
            return store.subset(accounts)

    def update_registry(self, fn: Callable[[Registry], T]) -> T:
        """In one write transaction: read the registry, apply ``fn``, write what it changed;
        returns fn's result. If ``fn`` raises, nothing is written. ``fn`` must not keep the
        registry it is given. On OpenBao ``fn`` may run again after a conflicting write."""
        if self.is_shared:
            return self.shared().update_registry(fn)
        with self.store() as store, store.write() as tx:
            return tx.update(fn)

    # ----------------------------------------------------------------------- check results

    def record_results(self, results: Iterable[tuple[str, CheckResult]]) -> int:
        """Record a batch of (key id, result) in one transaction: what each teaches the registry
        (``kutui.store.learn``) and the history (last ``MAX_ENTRIES`` per key). Results of keys
        removed meanwhile are skipped; returns how many were recorded."""
        batch = list(results)
        if not batch:
            return 0
        if self.is_shared:
            return self._record_shared(batch)
        with self.store() as store, store.write() as tx:
            return tx.record_results(batch)

    def _record_shared(self, batch: list[tuple[str, CheckResult]]) -> int:
        """On OpenBao: what the results teach goes to the shared registry, the history to this
        host's kutui.db (an IP-whitelist answer depends on the host)."""
        from kutui.model import Status
        from kutui.store.history import HistoryEntry
        from kutui.store.learn import apply_results

        batch = [(key_id, r) for key_id, r in batch if r.status is not Status.UNCHECKED]
        recorded = self.update_registry(lambda registry: apply_results(registry, batch))
        known = {k.id for k in self.registry().keys}
        by_key: dict[str, list[HistoryEntry]] = {}
        for key_id, result in batch:
            if key_id in known:
                by_key.setdefault(key_id, []).append(HistoryEntry.of(result))
        with self.store() as store, store.write() as tx:
            for key_id, entries in by_key.items():
                tx.add_history(key_id, entries)
        return recorded

    def history(self, key_id: str) -> list[HistoryEntry]:
        """The key's last results, oldest first."""
        if self._no_database():
            return []
        with self.store() as store:
            return store.history(key_id)

    def histories(self) -> History:
        """Every key's last results, oldest first."""
        if self._no_database():
            return {}
        with self.store() as store:
            return store.histories()

    def last_definite(self, key_ids: Iterable[str]) -> History:
        """Per key that has one, its newest result that said something about the key (a
        one-entry history, ``RegistryStore.last_definite``)."""
        if self._no_database():
            return {}
        with self.store() as store:
            return store.last_definite(key_ids)

    # ----------------------------------------------------------------------- consumers

    def consumers(self, key_id: str | None = None) -> list[Consumer]:
        """A key's consumers (README.md, "Consumers"), every key's with ``None``."""
        if self._no_database():
            return []
        with self.store() as store:
            return store.consumers(key_id)

    def put_consumer(self, consumer: Consumer) -> None:
        """Consumers are in this host's kutui.db (their paths are this host's), on an OpenBao
        home too, where the key itself is looked up on the server."""
        if self.is_shared:
            from kutui.errors import KeyNotFound

            if self.registry().key_by_id(consumer.key_id) is None:
                raise KeyNotFound(f"no key with id {consumer.key_id!r}")
        with self.store() as store, store.write() as tx:
            tx.put_consumer(consumer, check_key=not self.is_shared)

    def remove_consumer(self, key_id: str, name: str) -> bool:
        with self.store() as store, store.write() as tx:
            return tx.delete_consumer(key_id, name)

    def record_delivery(self, key_id: str, name: str, delivery: Delivery) -> bool:
        with self.store() as store, store.write() as tx:
            return tx.record_delivery(key_id, name, delivery)

    # ----------------------------------------------------------------------- app state

    def state(self) -> AppState:
        return read_state(self.paths.state)

    def update_state(self, fn: Callable[[AppState], T]) -> T:
        with locked(self.paths.state):
            state = read_state(self.paths.state)
            result = fn(state)
            _saving(self.paths.state, write_state, state)
            return result

    # ----------------------------------------------------------------------- vault

    def vault_exists(self) -> bool:
        if self.is_shared:
            return True  # the server is the vault; reaching it is checked when it is opened
        return self.paths.vault.exists() or self.paths.vault.is_symlink()

    def open_vault(
        self,
        *,
        passphrase: Secret | None = None,
        passphrase_file: Path | None = None,
        prompt: Callable[[str], Secret] | None = None,
    ) -> Vault:
        """Keyring stanza first (unless config says passphrase), then ``passphrase``, the file,
        ``$CREDENTIALS_DIRECTORY/kutui-passphrase``, then ``prompt``; else UnlockError.
        Records the generation seen in state.toml and sets ``vault.rollback_warning``."""
        from kutui.errors import UnlockError
        from kutui.store.keyring_unlock import try_keyring_stanza
        from kutui.store.vault import Vault

        if self.is_shared:
            shared = self.shared().open_vault()
            self._adopt_stored(shared)
            return shared
        settings = self.config.vault
        path = self.paths.vault
        seen = self.state().vault_generation
        vault: Vault | None = None
        keyring_why = ""
        if settings.unlock != "passphrase":
            vault, keyring_why = try_keyring_stanza(
                path, self.keyring_kek, backups=settings.backups, seen_generation=seen
            )
        if vault is None:
            secret = passphrase or read_passphrase_sources(passphrase_file)
            if secret is None and prompt is not None:
                if keyring_why:
                    log.warning("keyring unlock failed: %s", keyring_why)
                secret = prompt("Vault passphrase")
            if secret is None:
                why = f" (keyring: {keyring_why})" if keyring_why else ""
                raise UnlockError(
                    f"{path}: no way to unlock the vault{why}",
                    hint="give --passphrase-file FILE or use a terminal",
                )
            vault = Vault.open(
                path, passphrase=secret, backups=settings.backups, seen_generation=seen
            )
        log.debug(
            "vault %s unlocked by %s, generation %d", path, vault.unlocked_by, vault.generation
        )
        self.note_vault_generation(vault)
        self._adopt_stored(vault)
        return vault

    # ----------------------------------------------------------------------- keys with secrets

    def add_credentials(
        self,
        vault: Vault,
        ids: set[str],
        register: Callable[[Registry], list[str]],
        store: Callable[[VaultData], set[str]],
        finish: Callable[[Registry, set[str]], None] | None = None,
    ) -> set[str]:
        """Add credentials for the keys ``ids`` so that a crash at any point leaves nothing that
        blocks or hides: state.toml lists the ids, then the registry, the vault, the registry.

        ``register`` adds the records it must with ``has_secret = False`` and returns their ids;
        ``store`` puts credentials in the vault and returns the ids it stored; those are marked
        ``has_secret`` (``finish`` may change more) and added records left without credentials
        are removed. Killed after the vault write, the next unlock adopts the credentials
        (``open_vault``); killed before it, the record is a key without a secret, which
        ``kutui key add`` fills in and ``kutui key remove`` removes."""
        self._note_adding(ids, True)
        try:
            added = set(self.update_registry(register))
        except BaseException:  # nothing was registered: nothing for an unlock to adopt
            self._note_adding(ids, False)
            raise
        try:
            stored = vault.update(store)
        except BaseException:
            if added:
                self.update_registry(lambda reg: _drop_unstored(reg, added, set()))
            self._note_adding(ids, False)
            raise
        self.note_vault_generation(vault)

        def mark(reg: Registry) -> None:
            for key in reg.keys:
                if key.id in stored:
                    key.has_secret = True
            _drop_unstored(reg, added, stored)
            if finish is not None:
                finish(reg, stored)

        self.update_registry(mark)
        self._note_adding(ids, False)
        return stored

    def _note_adding(self, ids: set[str], adding: bool) -> None:
        """List (or unlist) ids in state.toml's ``adding``: an unlock adopts only those."""
        if not ids:
            return

        def change(state: AppState) -> None:
            kept = [i for i in state.adding if i not in ids]
            state.adding = tuple(kept + sorted(ids)) if adding else tuple(kept)

        self.update_state(change)

    def _adopt_stored(self, vault: Vault) -> None:
        """Mark stored the keys the registry lists without a secret whose id has a usable
        CURRENT credential: ``add_credentials`` was interrupted before its last write."""
        from kutui.errors import KutuiError

        data = vault.data
        try:
            listed = set(self.state().adding)  # none: no add was interrupted, no registry read
            if not listed:
                return
            if _adoptable(self.registry(), data, listed):

                def adopt(reg: Registry) -> None:
                    for key in _adoptable(reg, data, listed):
                        key.has_secret = True
                        log.info(
                            "%s: credentials found in the vault (an add was interrupted)", key.ref
                        )

                self.update_registry(adopt)
            # Settled: adopted, filled in or removed since. Others may be another kutui's add.
            registry = self.registry()
            settled = {i for i in listed if (k := registry.key_by_id(i)) is None or k.has_secret}
            self._note_adding(settled, False)
        except KutuiError as exc:  # a bad kutui.db is reported by whoever reads it next
            log.debug("not adopting vault entries: %s", exc)

    def keyring_kek(self, vault_uuid: str) -> tuple[bytes | None, str]:
        """(the vault's key from the OS keyring, "") or (None, why)."""
        from kutui.store.keyring_unlock import fetch_kek

        return fetch_kek(vault_uuid, timeout=self.config.vault.keyring_timeout_seconds)

    def note_vault_generation(self, vault: Vault) -> None:
        """Remember the highest generation seen; warn (on the vault) if it went down."""
        if self.is_shared:
            return  # KV versions, not a file generation: nothing to remember here
        seen = self.state().vault_generation
        if vault.generation < seen:
            if not vault.rollback_warning:
                vault.rollback_warning = (
                    f"{vault.path}: vault generation {vault.generation} is older than the last "
                    f"one seen ({seen}); an old copy may have been restored"
                )
            return
        if vault.generation > seen:

            def record(state: AppState) -> None:
                state.vault_generation = max(state.vault_generation, vault.generation)

            self.update_state(record)


def _adoptable(registry: Registry, data: VaultData, ids: set[str]) -> list[ApiKey]:
    return [
        k for k in registry.keys if k.id in ids and not k.has_secret and data.get(k.id) is not None
    ]


def _drop_unstored(registry: Registry, added: set[str], stored: set[str]) -> None:
    """Remove the records ``add_credentials`` added whose credentials were not stored."""
    registry.keys = [
        k for k in registry.keys if k.id not in added or k.id in stored or k.has_secret
    ]
