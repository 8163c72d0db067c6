"""Export and import the registry as text, for people and for git (no secrets: none are stored).

TOML is today's accounts.toml shape (``kutui.store.registry.dump_registry``); JSON is the same
document with date-times as ISO 8601 strings. Both are read back through the strict accounts.toml
reader (``parse_registry``), so an import is validated by the same rules as accounts.toml, and a
bad file is one ``RegistryError`` naming the source and the key path, with nothing changed.

``checks=False`` leaves out each key's last check: what this host last saw of KuCoin, which churns
and is per-host (docs/storage.md); an import without it keeps the database's own last checks.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from kutui.errors import RegistryError
from kutui.model import DEFAULT_ENV_PREFIX, Consumer, ConsumerKind, Registry, consumer_problem
from kutui.store.registry import dump_registry, parse_registry
from kutui.store.sqlite_registry import RegistryStore

Format = Literal["toml", "json"]
FORMATS: tuple[Format, ...] = ("toml", "json")
#: The registry's date-time fields: in JSON they are strings to turn back into date-times.
_DATETIME_KEYS = frozenset({"checked_at", "created_at", "added_at"})


def _without_checks(registry: Registry) -> Registry:
    return Registry(registry.accounts, [replace(k, last_check=None) for k in registry.keys])


_CONSUMER_FIELDS = ("key_id", "name", "kind", "target", "user", "reload", "env_prefix")


def _consumer_rows(consumers: Sequence[Consumer], registry: Registry) -> list[dict[str, str]]:
    """The consumers as plain tables (their last delivery is this host's, like a last check).
    A manual consumer its key's note names is left out: the note says it already, and an
    export of a home without other consumers stays today's accounts.toml."""
    noted = {(k.id, name) for k in registry.keys for name in k.note.consumers}
    return [
        {
            "key_id": c.key_id,
            "name": c.name,
            "kind": c.kind.value,
            "target": c.target,
            "user": c.user,
            "reload": c.reload,
            "env_prefix": c.env_prefix,
        }
        for c in consumers
        if c.kind.automatic or (c.key_id, c.name) not in noted
    ]


def _parse_consumers(source: Path, rows: object) -> list[Consumer]:
    if not isinstance(rows, list):
        raise RegistryError(source, "must be an array of tables", key="consumers")
    out: list[Consumer] = []
    for index, row in enumerate(rows):
        where = f"consumers[{index}]"
        if not isinstance(row, dict):
            raise RegistryError(source, "must be a table", key=where)
        unknown = sorted(set(row) - set(_CONSUMER_FIELDS))
        if unknown:
            raise RegistryError(source, "unknown field", key=f"{where}.{unknown[0]}")
        for name in _CONSUMER_FIELDS:
            if not isinstance(row.get(name, ""), str):
                raise RegistryError(source, "must be a string", key=f"{where}.{name}")
        try:
            kind = ConsumerKind(row.get("kind", ""))
        except ValueError:
            raise RegistryError(source, "is not a consumer kind", key=f"{where}.kind") from None
        consumer = Consumer(
            row.get("key_id", ""),
            row.get("name", ""),
            kind,
            target=row.get("target", ""),
            user=row.get("user", ""),
            reload=row.get("reload", ""),
            env_prefix=row.get("env_prefix", DEFAULT_ENV_PREFIX),
        )
        problem = consumer_problem(consumer)
        if problem:
            raise RegistryError(source, problem, key=where)
        out.append(consumer)
    return out


def export_registry(store: RegistryStore, fmt: Format = "toml", *, checks: bool = True) -> str:
    with store.db.reading():  # the registry and its consumers from one snapshot
        registry, consumers = store.snapshot(), store.consumers()
    return export_text(registry, fmt, checks=checks, consumers=consumers)


def export_text(
    registry: Registry,
    fmt: Format = "toml",
    *,
    checks: bool = True,
    consumers: Sequence[Consumer] = (),
) -> str:
    """``registry`` (and ``consumers``) as ``kutui registry export`` prints it (any store's)."""
    if not checks:
        registry = _without_checks(registry)
    text = dump_registry(registry).decode("utf-8")
    rows = _consumer_rows(consumers, registry)
    if rows:
        import tomli_w

        text += "\n" + tomli_w.dumps({"consumers": rows})
    if fmt == "toml":
        return text
    if fmt == "json":
        doc = tomllib.loads(text)
        return json.dumps(doc, default=_iso, ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _datetimes(value: Any, key: str = "") -> Any:
    """JSON's date-time strings back into date-times (a bad one stays a string: the strict
    reader then names its key)."""
    if isinstance(value, dict):
        return {k: _datetimes(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_datetimes(v) for v in value]
    if key in _DATETIME_KEYS and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def parse_export(text: str, fmt: Format, *, source: Path) -> Registry:
    """The registry in an exported text, validated like accounts.toml."""
    return parse_export_with_consumers(text, fmt, source=source)[0]


def parse_export_with_consumers(
    text: str, fmt: Format, *, source: Path
) -> tuple[Registry, list[Consumer] | None]:
    """The registry and its consumers (None: an export from before consumers existed)."""
    import tomli_w

    if fmt == "toml":
        consumers = None
        if "[[consumers]]" in text:
            try:
                doc = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                doc = {}  # the strict reader names the problem
            if "consumers" in doc:
                consumers = _parse_consumers(source, doc.pop("consumers"))
                text = tomli_w.dumps(doc)
        return parse_registry(source, text.encode("utf-8")), consumers
    if fmt != "json":
        raise ValueError(f"unknown format {fmt!r}")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RegistryError(source, f"is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RegistryError(source, "is not a kutui registry export (not a JSON object)")
    consumers = _parse_consumers(source, doc.pop("consumers")) if "consumers" in doc else None
    try:
        as_toml = tomli_w.dumps(_datetimes(doc))
    except (TypeError, ValueError) as exc:  # null values, mixed arrays: not a registry
        raise RegistryError(source, f"is not a kutui registry export ({exc})") from None
    return parse_registry(source, as_toml.encode("utf-8")), consumers


def import_into(
    update: Callable[[Callable[[Registry], None]], None],
    text: str,
    fmt: Format = "toml",
    *,
    source: Path | None = None,
) -> Registry:
    """``import_registry`` for a store reached through ``update_registry`` (OpenBao): the
    same rules, one check-and-set write."""
    registry = parse_export(text, fmt, source=source or Path(f"<import.{fmt}>"))

    def replace_all(held: Registry) -> None:
        for key in registry.keys:
            if key.last_check is None:
                old = held.key_by_id(key.id)
                key.last_check = old.last_check if old is not None else None
        held.accounts[:] = registry.accounts
        held.keys[:] = registry.keys

    update(replace_all)
    return registry


def import_registry(
    store: RegistryStore, text: str, fmt: Format = "toml", *, source: Path | None = None
) -> Registry:
    """Make the database's registry the one in ``text`` (one transaction; a bad text changes
    nothing). Keys left out are removed with their history; a key without a last check keeps
    the one the database has. Returns the registry now stored."""
    where = source or Path(f"<import.{fmt}>")
    registry, consumers = parse_export_with_consumers(text, fmt, source=where)
    if consumers is not None:
        ids = {k.id for k in registry.keys}
        stray = next((c for c in consumers if c.key_id not in ids), None)
        if stray is not None:
            raise RegistryError(
                where, f"names no key of this export ({stray.key_id!r})", key="consumers"
            )
    with store.write() as tx:
        for key in registry.keys:
            if key.last_check is None:
                held = tx.key_by_id(key.id)
                key.last_check = held.last_check if held is not None else None
        if consumers is not None:  # the export lists them: exactly those (deliveries kept)
            wanted = {(c.key_id, c.name) for c in consumers}
            for existing in tx.consumers():
                if (existing.key_id, existing.name) not in wanted:
                    tx.delete_consumer(existing.key_id, existing.name)
        tx.replace_registry(registry)
        for consumer in consumers or ():
            tx.put_consumer(consumer)
    return registry
