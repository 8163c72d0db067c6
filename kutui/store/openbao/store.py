"""``SharedStore``: what ``Home`` delegates to when config.toml says ``[store] kind =
"openbao"``: the shared registry, the credentials (``BaoVault``), rotation checklists and
leases, all in one KV v2 mount. Check history stays in the host's kutui.db (``Home``).

A key renamed in the registry (its account, sub-account or label) moves its secret: the copy at
the new path is written before the registry, the old path removed after it, so a crash between
leaves the key readable where the registry says it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kutui.model import KeyRef, Registry
from kutui.store.openbao import layout
from kutui.store.openbao.client import Connection, Settings, retrying
from kutui.store.openbao.errors import OpenBaoError
from kutui.store.openbao.lease import Lease, owner_name
from kutui.store.openbao.registry import SharedRegistry
from kutui.store.openbao.secrets import NOT_KUTUI, BaoVault

T = TypeVar("T")

ROTATION_KIND = "kutui-rotation"


class SharedStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn = Connection(settings)
        self.shared_registry = SharedRegistry(self.conn)
        self.owner = owner_name()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedStore({self.settings.where})"

    # ------------------------------------------------------------------- registry

    def registry(self) -> Registry:
        return self.shared_registry.snapshot()

    def update_registry(self, fn: Callable[[Registry], T]) -> T:
        return self.shared_registry.update(fn, self._moves)

    def _moves(self, old: Registry, new: Registry) -> Callable[[], None]:
        """Copy renamed keys' secrets to their new path now; the old paths go after."""
        before = {k.id: k.ref for k in old.keys if k.has_secret}
        moved: list[tuple[str, KeyRef, KeyRef]] = [
            (k.id, before[k.id], k.ref)
            for k in new.keys
            if k.id in before and before[k.id] != k.ref
        ]
        for key_id, src, dst in moved:
            self._copy(key_id, src, dst)

        def remove_old() -> None:
            for _, src, _ in moved:
                self.conn.delete(layout.key_path(self.settings.prefix, src))

        return remove_old

    def _copy(self, key_id: str, src: KeyRef, dst: KeyRef) -> None:
        prefix = self.settings.prefix
        entry = self.conn.read(layout.key_path(prefix, src))
        if entry is None or entry.data.get("kutui_key_id") != key_id:
            return
        target = layout.key_path(prefix, dst)
        there = self.conn.read(target)
        if there is not None and there.data.get("kutui_key_id") != key_id:
            raise OpenBaoError(
                f"openbao {self.settings.addr}: {self.settings.mount}/{target} {NOT_KUTUI}; "
                "nothing was renamed"
            )
        self.conn.write(target, dict(entry.data), there.version if there else 0)

    def init(self) -> bool:
        """Reach the server and create an empty shared registry if there is none."""
        return self.shared_registry.init()

    # ------------------------------------------------------------------- credentials

    def open_vault(self) -> BaoVault:
        self.conn.token()  # no token: one clear line before anything else
        return BaoVault(self.conn, self.registry)

    # ------------------------------------------------------------------- rotations

    def rotation_ids(self) -> list[str]:
        return sorted(
            name
            for name in self.conn.list(layout.rotations_dir(self.settings.prefix))
            if not name.endswith("/")
        )

    def read_rotation(self, rotation_id: str) -> tuple[str, int] | None:
        """The checklist's TOML text and its version, or None."""
        path = f"{layout.rotations_dir(self.settings.prefix)}/{rotation_id}"
        entry = self.conn.read(path)
        if entry is None:
            return None
        if entry.data.get("kind") != ROTATION_KIND or not isinstance(entry.data.get("toml"), str):
            raise OpenBaoError(
                f"openbao {self.settings.mount}/{path} holds something that is not a kutui "
                "rotation checklist; nothing was changed"
            )
        return str(entry.data["toml"]), entry.version

    def write_rotation(
        self, rotation_id: str, text: Callable[[str | None], str], key_id: str
    ) -> None:
        """Check-and-set ``text(old)`` (``old``: the checklist's TOML as stored, or None)."""
        path = f"{layout.rotations_dir(self.settings.prefix)}/{rotation_id}"

        def attempt() -> None:
            found = self.read_rotation(rotation_id)
            old, at = found if found is not None else (None, 0)
            doc: dict[str, Any] = {"kind": ROTATION_KIND, "key_id": key_id, "toml": text(old)}
            self.conn.write(path, doc, at)

        retrying(attempt)

    def lease(self, key_id: str) -> Lease:
        return Lease(self.conn, key_id, self.owner, self.settings.lease_seconds)


# --------------------------------------------------------------------------- per process

#: Homes on openbao, by their rotations directory: ``kutui.rotation.store.RotationStore`` is
#: built from that directory alone, by every front end; it finds its shared store here.
_BY_ROTATIONS_DIR: dict[str, Callable[[], SharedStore | None]] = {}


def register_rotations_dir(directory: str, store: Callable[[], SharedStore | None]) -> None:
    _BY_ROTATIONS_DIR[directory] = store


def for_rotations_dir(directory: str) -> SharedStore | None:
    found = _BY_ROTATIONS_DIR.get(directory)
    return found() if found is not None else None
