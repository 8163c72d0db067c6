"""Credentials on OpenBao, behind the local vault's interface (``kutui.store.vault.Vault``), so
every command, the TUI and the rotation flows use either one unchanged.

Slots map onto KV v2 (docs/storage.md, "OpenBao"):

- CURRENT is the latest version of the key's own path (``layout.key_path``);
- PENDING waits at ``_kutui/pending/<key id>``: a new key is not visible at the key's path, where
  consumers read, until it is verified and promoted;
- PREVIOUS is an older version of the key's path: promoting writes a new version, and the record
  ``_kutui/previous`` names the version that holds the key before it (dropping PREVIOUS removes
  that name; the version stays in the KV history).

Each ``update`` applies the change to a copy of what was read, then writes only what changed,
every write a check-and-set against the version read; on a conflict it reads again and re-applies.
Writes are ordered so that a crash between two leaves a state the next read understands: the
PREVIOUS record first, then the key's new version, then the PENDING cleanup (a PENDING equal to
CURRENT, or a PREVIOUS naming the current version, is read as absent).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from kutui.model import Credential, KeyRef, Registry, Slot
from kutui.store.openbao import layout
from kutui.store.openbao.client import Connection, Entry, retrying
from kutui.store.openbao.errors import CasConflict, OpenBaoError
from kutui.store.vault import Vault, VaultData, _BadEntry, _credential_from, _credential_json

T = TypeVar("T")

NOT_KUTUI = "holds a secret that is not a kutui key (no kutui_key_id field)"
READERS = 8  # parallel reads when loading many keys


def to_fields(key_id: str, cred: Credential) -> dict[str, Any]:
    doc = _credential_json(cred)
    doc["kutui_key_id"] = key_id
    return doc


def from_fields(key_id: str, data: dict[str, Any]) -> Credential | str:
    """The credential, or why the secret cannot be one for ``key_id``."""
    if data.get("kutui_key_id") != key_id:
        if "kutui_key_id" not in data:
            return NOT_KUTUI
        return "holds another kutui key's credentials"
    try:
        return _credential_from(Slot.CURRENT.value, data)
    except _BadEntry as exc:
        return exc.why


class _Seen:
    """What one key looked like when read: versions for check-and-set, the foreign flag."""

    def __init__(self, path: str, version: int, foreign: str = "") -> None:
        self.path = path
        self.version = version
        self.foreign = foreign  # why the key's path cannot be written ("": it is ours or empty)
        self.pending_version = 0
        self.previous_version = 0  # the KV version named as PREVIOUS (0: none)


class BaoVault(Vault):
    """An "unlocked vault" that is a view of the KV mount; the token is the unlock."""

    def __init__(self, conn: Connection, registry: Callable[[], Registry]) -> None:
        # No file header, no data key: the parent's file machinery is never used.
        self.conn = conn
        self.prefix = conn.settings.prefix
        self.path = Path(f"openbao:{conn.settings.mount}/{self.prefix}")
        self.backups = 0
        self.uuid = ""
        self.rollback_warning = None
        self.warnings = []
        self.unlocked_by = "token"
        self.generation = 0
        self.has_keyring_stanza = False
        self.has_passphrase_stanza = False
        self._registry = registry
        self._dek = None
        self._data: VaultData | None = None
        self._seen: dict[str, _Seen] = {}
        self._previous_doc: tuple[dict[str, int], int] = ({}, 0)
        self.reload()

    @property
    def kdf(self) -> None:
        return None

    @property
    def keyring_username(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"BaoVault({self.conn.settings.where})"

    # ------------------------------------------------------------------- reading

    def reload(self) -> None:
        registry = self._registry()
        self._data, self._seen, self._previous_doc = self._read_all(registry)

    def _read_previous_doc(self) -> tuple[dict[str, int], int]:
        entry = self.conn.read(layout.previous_path(self.prefix))
        if entry is None:
            return {}, 0
        found = {str(k): int(v) for k, v in entry.data.items() if isinstance(v, int)}
        return found, entry.version

    def _read_all(
        self, registry: Registry
    ) -> tuple[VaultData, dict[str, _Seen], tuple[dict[str, int], int]]:
        refs = {key.id: key.ref for key in registry.keys}
        pending_ids = {
            name for name in self.conn.list(layout.pending_dir(self.prefix)) if name in refs
        }
        previous = self._read_previous_doc()
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            loaded = list(
                pool.map(
                    lambda item: self._read_key(
                        item[0], item[1], item[0] in pending_ids, previous[0].get(item[0], 0)
                    ),
                    sorted(refs.items()),
                )
            )
        keys: dict[str, dict[Slot, Credential]] = {}
        raw: dict[str, dict[str, tuple[Any, str]]] = {}
        seen: dict[str, _Seen] = {}
        for key_id, slots, bad, state in loaded:
            seen[key_id] = state
            if slots:
                keys[key_id] = slots
            if bad:
                raw[key_id] = bad
        return VaultData(keys, raw), seen, previous

    def _read_key(
        self, key_id: str, ref: KeyRef, has_pending: bool, previous_version: int
    ) -> tuple[str, dict[Slot, Credential], dict[str, tuple[Any, str]], _Seen]:
        path = layout.key_path(self.prefix, ref)
        slots: dict[Slot, Credential] = {}
        bad: dict[str, tuple[Any, str]] = {}
        entry = self.conn.read(path)
        state = _Seen(path, entry.version if entry else 0)
        if entry is not None:
            found = from_fields(key_id, entry.data)
            if isinstance(found, str):
                state.foreign = found
                bad[Slot.CURRENT.value] = (None, f"{self.conn.settings.mount}/{path} {found}")
            else:
                slots[Slot.CURRENT] = found
        if has_pending:
            pending = self.conn.read(layout.pending_path(self.prefix, key_id))
            if pending is not None:
                state.pending_version = pending.version
                cred = from_fields(key_id, pending.data)
                current = slots.get(Slot.CURRENT)
                # A promote interrupted before its cleanup: the PENDING is CURRENT already.
                if isinstance(cred, Credential) and (
                    current is None or current.api_key != cred.api_key
                ):
                    slots[Slot.PENDING] = cred
        if entry is not None and not state.foreign and 0 < previous_version < entry.version:
            old = self.conn.read_version(path, previous_version)
            cred = from_fields(key_id, old.data) if old is not None else "gone"
            if isinstance(cred, Credential):
                slots[Slot.PREVIOUS] = cred
                state.previous_version = previous_version
        return key_id, slots, bad, state

    # ------------------------------------------------------------------- writing

    def update(self, fn: Callable[[VaultData], T]) -> T:
        """Apply ``fn`` to a copy of the data, write what changed (check-and-set); on a
        conflict, read again and re-apply. If ``fn`` raises, nothing is written."""
        first = [True]

        def attempt() -> T:
            if not first[0]:
                self.reload()
            first[0] = False
            registry = self._registry()
            before = self.data
            after = _copy(before)
            result = fn(after)
            self._write_changes(registry, before, after)
            self._data = after
            return result

        return retrying(attempt)

    def _seen_for(self, key_id: str, ref: KeyRef) -> _Seen:
        """The key as last read; a key added since (by this update) is read now."""
        path = layout.key_path(self.prefix, ref)
        state = self._seen.get(key_id)
        if state is None or state.path != path:
            _, _, _, state = self._read_key(key_id, ref, False, 0)
            self._seen[key_id] = state
        return state

    def _write_changes(self, registry: Registry, before: VaultData, after: VaultData) -> None:
        for key_id in sorted(set(before.key_ids()) | set(after.key_ids())):
            old, new = before.slots(key_id), after.slots(key_id)
            if old == new:
                continue
            key = registry.key_by_id(key_id)
            if key is None:
                if not new:  # an orphan entry removed: nothing of it is on the server
                    continue
                raise OpenBaoError(
                    f"{self.conn.settings.where}: no key with id {key_id} in the shared "
                    "registry; its credentials were not written"
                )
            self._write_key(key_id, key.ref, old, new)

    def _write_key(
        self, key_id: str, ref: KeyRef, old: dict[Slot, Credential], new: dict[Slot, Credential]
    ) -> None:
        state = self._seen_for(key_id, ref)
        where = f"openbao {self.conn.settings.addr}: {self.conn.settings.mount}/{state.path}"
        pending_path = layout.pending_path(self.prefix, key_id)
        if not new:  # the key is removed
            if state.version and not state.foreign:
                self.conn.delete(state.path)
            if state.pending_version:
                self.conn.delete(pending_path)
            self._set_previous(key_id, 0)
            del self._seen[key_id]
            return
        cur_old, cur_new = old.get(Slot.CURRENT), new.get(Slot.CURRENT)
        prev_new = new.get(Slot.PREVIOUS)
        if cur_new != cur_old:
            if state.foreign:
                raise OpenBaoError(f"{where} {state.foreign}; nothing was written")
            # PREVIOUS first: it names the version being replaced (ignored until that happens).
            if prev_new is not None and cur_old is not None and prev_new == cur_old:
                self._set_previous(key_id, state.version)
                state.previous_version = state.version
            elif prev_new != old.get(Slot.PREVIOUS) or prev_new is not None:
                self._require_history(key_id, state, prev_new, old)
            if cur_new is None:
                self.conn.delete(state.path)
                state.version = 0
            else:
                state.version = self.conn.write(
                    state.path, to_fields(key_id, cur_new), state.version
                )
        elif new.get(Slot.PREVIOUS) != old.get(Slot.PREVIOUS):
            self._require_history(key_id, state, prev_new, old)
        pend_old, pend_new = old.get(Slot.PENDING), new.get(Slot.PENDING)
        if pend_new != pend_old:
            if pend_new is None:
                if state.pending_version:
                    self.conn.delete(pending_path)
                state.pending_version = 0
            else:
                state.pending_version = self.conn.write(
                    pending_path, to_fields(key_id, pend_new), state.pending_version
                )

    def _require_history(
        self, key_id: str, state: _Seen, prev_new: Credential | None, old: dict[Slot, Credential]
    ) -> None:
        """PREVIOUS may only be dropped or kept: it is a KV version, not a value of its own."""
        if prev_new is None:
            self._set_previous(key_id, 0)
            state.previous_version = 0
        elif prev_new != old.get(Slot.PREVIOUS):
            raise OpenBaoError(
                f"{self.conn.settings.where}: key id {key_id}: a PREVIOUS credential that was "
                "never CURRENT cannot be kept on openbao (it lives in the KV history)"
            )

    def _set_previous(self, key_id: str, version: int) -> None:
        path = layout.previous_path(self.prefix)

        def attempt() -> None:
            doc, at = self._read_previous_doc()
            if doc.get(key_id, 0) == version:
                return
            if version:
                doc[key_id] = version
            else:
                doc.pop(key_id, None)
            self.conn.write(path, dict(doc), at)

        retrying(attempt)

    # ------------------------------------------------------------------- no file here

    def _no_file(self, what: str) -> OpenBaoError:
        return OpenBaoError(
            f"{self.conn.settings.where}: {what} is for a local vault; on openbao the server's "
            "token and policies protect the keys"
        )

    def set_passphrase(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_file("a vault passphrase")

    def enable_keyring(self, kek: bytes) -> None:
        raise self._no_file("the OS keyring")

    def disable_keyring(self) -> None:
        raise self._no_file("the OS keyring")

    def backup_files(self) -> list[Path]:
        return []

    def remove_backups(self) -> list[Path]:
        return []

    def close(self) -> None:
        self._data = None


def _copy(data: VaultData) -> VaultData:
    return VaultData(
        {key_id: data.slots(key_id) for key_id in data.key_ids() if data.slots(key_id)},
        {k: dict(v) for k, v in data._raw.items()},
        dict(data._whole),
    )


__all__ = ["BaoVault", "CasConflict", "Entry", "from_fields", "to_fields"]
