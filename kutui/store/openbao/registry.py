"""The shared registry: accounts, sub-accounts, notes, consumers and key metadata, one KV v2
secret at ``<prefix>/_kutui/registry`` holding accounts.toml's text (``kutui.store.registry``).

Every change is read, apply, check-and-set write, retried on conflict: two operators adding keys
at once both land (docs/storage.md, "OpenBao"). Check results are per host (kutui.db); the last
check each key carries here is what any host learned last.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kutui.errors import RegistryError
from kutui.model import Registry
from kutui.store.openbao import layout
from kutui.store.openbao.client import Connection, Entry, retrying
from kutui.store.openbao.errors import OpenBaoError
from kutui.store.registry import dump_registry, parse_registry

T = TypeVar("T")

SCHEMA = "1"
KIND = "kutui-registry"
#: Past this size the text is stored zlib-compressed (base64): a raft-backed server refuses an
#: entry over 1 MiB by default (``max_entry_size``), about 4,000 keys of text; compressed,
#: tens of thousands fit.
PLAIN_MAX = 64 * 1024


class SharedRegistry:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.path = layout.registry_path(conn.settings.prefix)

    def _label(self) -> Path:
        return Path(f"openbao:{self.conn.settings.mount}/{self.path}")

    def read(self) -> tuple[Registry, int]:
        """The registry and the version it is at (0: none written yet: empty)."""
        entry = self.conn.read(self.path)
        if entry is None:
            return Registry(), 0
        return self._parse(entry), entry.version

    def _parse(self, entry: Entry) -> Registry:
        data = dict(entry.data)
        if isinstance(data.get("registry_zlib"), str):
            data["registry"] = _inflate(str(data["registry_zlib"]))
        if data.get("kind") != KIND or not isinstance(data.get("registry"), str):
            raise OpenBaoError(
                f"openbao {self.conn.settings.addr}: {self.conn.settings.mount}/{self.path} "
                "holds something that is not a kutui registry; nothing was changed",
                hint="choose another store.prefix, or move that secret away",
            )
        if data.get("schema") != SCHEMA:
            raise OpenBaoError(
                f"openbao {self.conn.settings.mount}/{self.path}: schema {data.get('schema')!r}; "
                f"this kutui reads schema {SCHEMA}"
            )
        try:
            return parse_registry(self._label(), str(data["registry"]).encode())
        except RegistryError as exc:
            raise OpenBaoError(str(exc)) from None

    def snapshot(self) -> Registry:
        return self.read()[0]

    def write(self, registry: Registry, cas: int) -> int:
        text = dump_registry(registry)
        doc = {"kind": KIND, "schema": SCHEMA}
        if len(text) <= PLAIN_MAX:
            doc["registry"] = text.decode()
        else:
            doc["registry_zlib"] = base64.b64encode(zlib.compress(text, 6)).decode()
        return self.conn.write(self.path, doc, cas)

    def update(
        self,
        fn: Callable[[Registry], T],
        before_write: Callable[[Registry, Registry], Callable[[], None]] | None = None,
    ) -> T:
        """Read, apply ``fn``, write with check-and-set; on a conflict, all again (``fn`` may
        run more than once, on a fresh registry each time). ``before_write(old, new)`` runs
        before the write and returns what to do after it (the store moves renamed keys)."""

        def attempt() -> T:
            registry, version = self.read()
            old = dump_registry(registry)
            before = parse_registry(self._label(), old) if before_write is not None else registry
            result = fn(registry)
            if dump_registry(registry) == old:
                return result
            after = before_write(before, registry) if before_write is not None else None
            self.write(registry, version)
            if after is not None:
                after()
            return result

        return retrying(attempt)

    def init(self) -> bool:
        """Write an empty registry if there is none; True when this call wrote it."""
        registry, version = self.read()
        if version:
            return False

        def create() -> bool:
            registry, version = self.read()
            if version:
                return False
            self.write(registry, 0)
            return True

        return retrying(create)


def _inflate(text: str) -> str | None:
    """The compressed registry's text, or None (then reported as not a kutui registry)."""
    try:
        return zlib.decompress(base64.b64decode(text, validate=True)).decode()
    except (binascii.Error, zlib.error, UnicodeDecodeError):
        return None
