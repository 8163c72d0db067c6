"""``Home``: the one door to a kutui home: its paths, config, registry, app state and vault.

Every registry or state change goes through ``update_registry``/``update_state``: lock the file's
sidecar, re-read it (another process may have saved since), apply the change, write atomically.
Two processes saving at once therefore never lose each other's updates.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kutui.model import ApiKey, Registry
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.config import Config, load_config
from kutui.store.files import check_safe_dir, locked, remove_stale_temps
from kutui.store.registry import read_registry, write_registry
from kutui.store.state import AppState, read_state, write_state

if TYPE_CHECKING:  # the vault pulls in cryptography: only commands that unlock pay for it
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


class Home:
    paths: Paths
    config: Config

    def __init__(self, paths: Paths, config: Config) -> None:
        self.paths = paths
        self.config = config
        # The registry as last read or written by this process, keyed by the file's identity:
        # every save replaces the file (a new inode), so another process's save is always seen.
        # Parsing 10,000 keys costs over a second; a copy of the cached registry a third of that.
        self._cached: tuple[tuple[int, int, int], Registry] | None = None

    def __repr__(self) -> str:
        return f"Home({self.paths.data_dir})"

    @classmethod
    def load(cls, home: str | Path | None = None) -> Home:
        """Resolve paths (``--home``/``KUTUI_HOME``/platformdirs), load config.toml (ConfigError if
        bad; defaults if absent), remove stale temp files."""
        paths = Paths.resolve(home)
        for directory in (*paths.all_dirs(), paths.rotations_dir):
            check_safe_dir(directory)  # before reading or deleting anything there
        config = load_config(paths.config)
        for directory in (*paths.all_dirs(), paths.rotations_dir):
            for removed in remove_stale_temps(directory):
                log.info("removed a temp file left by an interrupted save: %s", removed)
        return cls(paths, config)

    # ----------------------------------------------------------------------- registry

    def registry(self) -> Registry:
        """A private copy of accounts.toml's registry (the caller may change it freely)."""
        cached = self._cached
        if cached is not None and cached[0] == self._file_identity() != (0, 0, 0):
            return copy.deepcopy(cached[1])
        return read_registry(self.paths.accounts)  # one-shot readers pay no copy

    def update_registry(self, fn: Callable[[Registry], T]) -> T:
        """Lock accounts.toml, re-read it, apply ``fn``, write it atomically; returns fn's result.
        If ``fn`` raises, nothing is written. ``fn`` must not keep the registry it is given."""
        with locked(self.paths.accounts):
            registry = self._current_registry()
            self._cached = None  # until the write succeeds, the disk holds the truth
            result = fn(registry)
            _saving(self.paths.accounts, write_registry, registry)
            self._cached = (self._file_identity(), registry)
            return result

    def _file_identity(self) -> tuple[int, int, int]:
        try:
            st = self.paths.accounts.stat()
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _current_registry(self) -> Registry:
        identity = self._file_identity()
        if self._cached is not None and self._cached[0] == identity and identity != (0, 0, 0):
            return self._cached[1]
        registry = read_registry(self.paths.accounts)
        self._cached = (identity, registry)
        return registry

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
        added = set(self.update_registry(register))
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
        """Mark stored the keys accounts.toml lists without a secret whose id has a usable
        CURRENT credential: ``add_credentials`` was interrupted before its last write."""
        from kutui.errors import KutuiError

        data = vault.data
        try:
            listed = set(self.state().adding)  # none: no add was interrupted, no registry read
            if not listed:
                return
            if _adoptable(self._current_registry(), data, listed):

                def adopt(reg: Registry) -> None:
                    for key in _adoptable(reg, data, listed):
                        key.has_secret = True
                        log.info(
                            "%s: credentials found in the vault (an add was interrupted)", key.ref
                        )

                self.update_registry(adopt)
            # Settled: adopted, filled in or removed since. Others may be another kutui's add.
            registry = self._current_registry()
            settled = {i for i in listed if (k := registry.key_by_id(i)) is None or k.has_secret}
            self._note_adding(settled, False)
        except KutuiError as exc:  # a bad accounts.toml is reported by whoever reads it next
            log.debug("not adopting vault entries: %s", exc)

    def keyring_kek(self, vault_uuid: str) -> tuple[bytes | None, str]:
        """(the vault's key from the OS keyring, "") or (None, why)."""
        from kutui.store.keyring_unlock import fetch_kek

        return fetch_kek(vault_uuid, timeout=self.config.vault.keyring_timeout_seconds)

    def note_vault_generation(self, vault: Vault) -> None:
        """Remember the highest generation seen; warn (on the vault) if it went down."""
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
