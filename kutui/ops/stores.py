"""The store interface every command and the TUI use, its factory, and moving a home's keys
from one store to the other (``kutui migrate``).

Two implementations serve ``KeyStore``: the local one (the vault file plus the registry in
kutui.db) and OpenBao (``kutui.store.openbao``: the registry and the credentials in a KV v2
mount shared by a team). ``Home`` is the one door to both: config.toml's ``[store] kind``
chooses, so front ends never branch on it. Check history is per host: it stays in kutui.db.

A migration copies every key (all its slots), the registry and its metadata to the target,
reads the target back and compares, then switches config.toml, and only then removes the
source. Killed at any point, the home is still complete on one side, and running the same
``kutui migrate`` again finishes the job: writes are repeated only where the target does not
already hold the same key id (docs/storage.md, "OpenBao").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from kutui.errors import KutuiError
from kutui.model import CheckResult, Registry, Slot
from kutui.secret import Secret
from kutui.store.home import Home

if TYPE_CHECKING:
    from kutui.store.history import History, HistoryEntry
    from kutui.store.openbao.client import Settings
    from kutui.store.openbao.store import SharedStore
    from kutui.store.vault import Vault, VaultData

T = TypeVar("T")

Kind = Literal["local", "openbao"]


class KeyStore(Protocol):
    """What a front end may ask of a store, whichever it is."""

    @property
    def is_shared(self) -> bool: ...

    def registry(self) -> Registry: ...

    def update_registry(self, fn: Callable[[Registry], T]) -> T: ...

    def vault_exists(self) -> bool: ...

    def open_vault(
        self,
        *,
        passphrase: Secret | None = None,
        passphrase_file: Path | None = None,
        prompt: Callable[[str], Secret] | None = None,
    ) -> Vault: ...

    def add_credentials(
        self,
        vault: Vault,
        ids: set[str],
        register: Callable[[Registry], list[str]],
        store: Callable[[VaultData], set[str]],
        finish: Callable[[Registry, set[str]], None] | None = None,
    ) -> set[str]: ...

    def record_results(self, results: Iterable[tuple[str, CheckResult]]) -> int: ...

    def history(self, key_id: str) -> list[HistoryEntry]: ...

    def histories(self) -> History: ...


def open_store(home: str | Path | None = None) -> KeyStore:
    """The home's store, as config.toml's ``[store]`` says (``Home`` delegates to OpenBao)."""
    return Home.load(home)


def store_kind(store: KeyStore) -> Kind:
    return "openbao" if store.is_shared else "local"


# --------------------------------------------------------------------------- migration


class MigrationError(KutuiError):
    """The target does not match the source after the copy, or holds other keys."""


@dataclass(frozen=True)
class Moved:
    keys: int
    accounts: int
    target: str
    removed: str


Step = Callable[[str], None]


def _local_home(home: Home) -> Home:
    from kutui.store.config import StoreConfig

    return Home(home.paths, replace(home.config, store=StoreConfig()))


def _same_registry(a: Registry, b: Registry) -> bool:
    from kutui.store.registry import dump_registry

    return dump_registry(a) == dump_registry(b)


def _slots(data: VaultData, key_ids: Iterable[str]) -> dict[str, dict[Slot, tuple[str, ...]]]:
    """Comparable credentials: the values and version of each slot (not the save time)."""
    out: dict[str, dict[Slot, tuple[str, ...]]] = {}
    for key_id in key_ids:
        out[key_id] = {
            slot: (
                c.api_key.reveal(),
                c.api_secret.reveal(),
                c.passphrase.reveal(),
                str(c.api_version),
            )
            for slot, c in data.slots(key_id).items()
        }
    return out


def _refuse_open_rotations(home: Home) -> None:
    from kutui.rotation.store import RotationStore

    open_ = RotationStore(home.paths.rotations_dir).list_open()
    if open_:
        raise MigrationError(
            f"{open_[0].key_ref} has an open rotation ({open_[0].id}); nothing was moved",
            hint="finish it or abort it (kutui rotate REF --abort), then migrate",
        )


def _switch_config(home: Home, values: dict[str, object]) -> None:
    from kutui.store.config import with_store
    from kutui.store.files import atomic_write, locked

    path = home.paths.config
    with locked(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        atomic_write(path, with_store(path, text, values))


def to_openbao(
    home: Home,
    settings: Settings,
    *,
    passphrase_file: Path | None = None,
    prompt: Callable[[str], Secret] | None = None,
    step: Step = lambda name: None,
) -> Moved:
    """Move a local home's keys and registry to OpenBao; then remove the local vault."""
    from kutui.store.openbao.store import SharedStore

    if home.is_shared:
        return _finish_to_openbao(home, passphrase_file, prompt)
    _refuse_open_rotations(home)
    source_registry = home.registry()
    vault = home.open_vault(passphrase_file=passphrase_file, prompt=prompt)
    source = vault.data
    target = SharedStore(settings)
    target.init()
    found = target.registry()
    ours = {k.id for k in source_registry.keys}
    strangers = [str(k.ref) for k in found.keys if k.id not in ours]
    if strangers:
        raise MigrationError(
            f"{settings.where} already holds other keys ({', '.join(strangers[:3])}); nothing "
            "was moved",
            hint="choose another --openbao-prefix",
        )
    _copy_to_openbao(target, source_registry, source, step)
    step("secrets:done")
    target.update_registry(lambda reg: _replace(reg, source_registry))
    step("registry:done")
    _verify(target.registry(), target.open_vault().data, source_registry, source, settings.where)
    _switch_config(home, _shared_values(settings))
    step("config:done")
    removed = _remove_local(home, vault)
    return Moved(len(source_registry.keys), len(source_registry.accounts), settings.where, removed)


def _shared_values(settings: Settings) -> dict[str, object]:
    values: dict[str, object] = {
        "kind": "openbao",
        "addr": settings.addr,
        "mount": settings.mount,
        "prefix": settings.prefix,
    }
    for name in ("token_file", "ca_file", "role_id", "secret_id_file"):
        if getattr(settings, name):
            values[name] = getattr(settings, name)
    return values


def _finish_to_openbao(
    home: Home, passphrase_file: Path | None, prompt: Callable[[str], Secret] | None
) -> Moved:
    """config.toml says openbao already: a migration was killed after the switch when a local
    vault is left; check the server holds the same, then remove the local copy."""
    local = _local_home(home)
    target = home.shared()
    if not local.vault_exists():
        raise MigrationError(
            f'{home.paths.config} already says [store] kind = "openbao" and no local vault is '
            "left; nothing to move"
        )
    vault = local.open_vault(passphrase_file=passphrase_file, prompt=prompt)
    source_registry = local.registry()
    where = target.settings.where
    _verify(target.registry(), target.open_vault().data, source_registry, vault.data, where)
    removed = _remove_local(home, vault)
    return Moved(len(source_registry.keys), len(source_registry.accounts), where, removed)


def _finish_to_local(home: Home, passphrase: Secret) -> Moved:
    """config.toml says local already: a migration was killed after the switch when the
    server still holds the registry; check the local copy matches, then remove the server's."""
    from kutui.store.openbao.client import Settings
    from kutui.store.openbao.store import SharedStore
    from kutui.store.vault import Vault

    store = home.config.store
    if not store.addr:
        raise MigrationError(f'{home.paths.config} already says [store] kind = "local"')
    shared = SharedStore(Settings.from_config(replace(store, kind="openbao")))
    if shared.shared_registry.read()[1] == 0:
        raise MigrationError(
            f'{home.paths.config} already says [store] kind = "local" and '
            f"{shared.settings.where} holds no registry; nothing to move"
        )
    source_registry = shared.registry()
    check = Vault.open(home.paths.vault, passphrase=passphrase)
    _verify(
        home.registry(),
        check.data,
        source_registry,
        shared.open_vault().data,
        str(home.paths.vault),
    )
    removed = _remove_shared(shared, source_registry)
    return Moved(
        len(source_registry.keys), len(source_registry.accounts), str(home.paths.vault), removed
    )


def _replace(registry: Registry, source: Registry) -> None:
    registry.accounts[:] = source.accounts
    registry.keys[:] = source.keys


def _copy_to_openbao(
    target: SharedStore, registry: Registry, source: VaultData, step: Step
) -> None:
    """Every slot of every key: PREVIOUS first, then CURRENT (the KV history keeps the order),
    PENDING at its own path. A key id the target holds already is not written again."""
    from kutui.store.openbao import layout
    from kutui.store.openbao.secrets import to_fields

    conn, prefix = target.conn, target.settings.prefix
    previous: dict[str, int] = {}
    keys = [k for k in registry.keys if source.slots(k.id)]
    for index, key in enumerate(keys):
        slots = source.slots(key.id)
        path = layout.key_path(prefix, key.ref)
        there = conn.read(path)
        current = slots.get(Slot.CURRENT)
        if there is not None and there.data.get("kutui_key_id") != key.id:
            from kutui.store.openbao.secrets import NOT_KUTUI

            raise MigrationError(f"{target.settings.where}: {path} {NOT_KUTUI}; nothing was moved")
        if there is None:
            version = 0
            if Slot.PREVIOUS in slots:
                version = conn.write(path, to_fields(key.id, slots[Slot.PREVIOUS]), 0)
                previous[key.id] = version
            if current is not None:
                conn.write(path, to_fields(key.id, current), version)
        if Slot.PENDING in slots:
            pending = layout.pending_path(prefix, key.id)
            found = conn.read(pending)
            if found is None:
                conn.write(pending, to_fields(key.id, slots[Slot.PENDING]), 0)
        if index == len(keys) // 2:
            step("secrets:half")
    if previous:
        doc_path = layout.previous_path(prefix)
        entry = conn.read(doc_path)
        doc = dict(entry.data) if entry is not None else {}
        doc.update(previous)
        conn.write(doc_path, doc, entry.version if entry is not None else 0)


def _verify(
    registry: Registry, data: VaultData, want_registry: Registry, want: VaultData, where: str
) -> None:
    ids = [k.id for k in want_registry.keys]
    if not _same_registry(registry, want_registry) or _slots(data, ids) != _slots(want, ids):
        raise MigrationError(
            f"{where}: what was read back differs from the source; the source is kept",
            hint="run the same kutui migrate again",
        )


def _remove_local(home: Home, vault: Vault) -> str:
    """The local vault (and its backups) and the local registry rows; the history stays."""
    local = _local_home(home)
    for backup in vault.backup_files():
        with contextlib.suppress(FileNotFoundError):
            backup.unlink()
    with contextlib.suppress(FileNotFoundError):
        home.paths.vault.unlink()
    # Removing a key's registry row drops its history with it; the history is this host's and
    # stays (the keys live on in the shared store under the same ids).
    kept = local.histories()
    local.update_registry(lambda reg: _replace(reg, Registry()))
    with local.store() as db, db.write() as tx:
        for key_id, entries in kept.items():
            tx.add_history(key_id, entries)
    return str(home.paths.vault)


def to_local(
    home: Home,
    *,
    passphrase: Secret,
    step: Step = lambda name: None,
) -> Moved:
    """Move an OpenBao home's keys and registry into a local vault and kutui.db; then remove
    them from the server. ``passphrase`` opens the local vault (or creates it)."""
    from kutui.store.kdf import params_for
    from kutui.store.vault import Vault

    if not home.is_shared:
        return _finish_to_local(home, passphrase)
    _refuse_open_rotations(home)
    shared = home.shared()
    source_registry = shared.registry()
    source = shared.open_vault().data
    local = _local_home(home)
    settings = home.config.vault
    if local.vault_exists():  # left by a migration killed half-way: the same ids only
        vault = local.open_vault(passphrase=passphrase)
        ours = {k.id for k in source_registry.keys}
        strangers = [i for i in vault.data.key_ids() if i not in ours]
        if strangers:
            raise MigrationError(
                f"{home.paths.vault} already holds other keys; nothing was moved",
                hint="move it away first",
            )
    else:
        kdf = params_for(settings)
        vault = Vault.create(
            home.paths.vault, passphrase=passphrase, kdf=kdf, backups=settings.backups
        )
    keys = [k for k in source_registry.keys if source.slots(k.id)]
    half = keys[: len(keys) // 2 + 1]

    def fill(chosen: list[str]) -> Callable[[VaultData], None]:
        def put(data: VaultData) -> None:
            for key_id in chosen:
                data.remove_key(key_id)
                for slot, cred in source.slots(key_id).items():
                    data.put(key_id, cred, slot)

        return put

    vault.update(fill([k.id for k in half]))
    step("secrets:half")
    vault.update(fill([k.id for k in keys]))
    step("secrets:done")
    local.update_registry(lambda reg: _replace(reg, source_registry))
    step("registry:done")
    check = Vault.open(home.paths.vault, passphrase=passphrase)
    _verify(local.registry(), check.data, source_registry, source, str(home.paths.vault))
    _switch_config(home, {**_shared_values(shared.settings), "kind": "local"})
    step("config:done")
    removed = _remove_shared(shared, source_registry)
    return Moved(
        len(source_registry.keys), len(source_registry.accounts), str(home.paths.vault), removed
    )


def _remove_shared(shared: SharedStore, registry: Registry) -> str:
    """Every key's path, its pending and lease records, the checklists and the registry."""
    from kutui.store.openbao import layout

    conn, prefix = shared.conn, shared.settings.prefix
    for key in registry.keys:
        path = layout.key_path(prefix, key.ref)
        entry = conn.read(path)
        if entry is not None and entry.data.get("kutui_key_id") == key.id:
            conn.delete(path)
        for extra in (layout.pending_path(prefix, key.id), layout.lease_path(prefix, key.id)):
            conn.delete(extra)
    for rotation_id in shared.rotation_ids():
        conn.delete(f"{layout.rotations_dir(prefix)}/{rotation_id}")
    conn.delete(layout.previous_path(prefix))
    conn.delete(layout.registry_path(prefix))
    return shared.settings.where
