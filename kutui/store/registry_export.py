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
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from kutui.errors import RegistryError
from kutui.model import Registry
from kutui.store.registry import dump_registry, parse_registry
from kutui.store.sqlite_registry import RegistryStore

Format = Literal["toml", "json"]
FORMATS: tuple[Format, ...] = ("toml", "json")
#: The registry's date-time fields: in JSON they are strings to turn back into date-times.
_DATETIME_KEYS = frozenset({"checked_at", "created_at", "added_at"})


def _without_checks(registry: Registry) -> Registry:
    return Registry(registry.accounts, [replace(k, last_check=None) for k in registry.keys])


def export_registry(store: RegistryStore, fmt: Format = "toml", *, checks: bool = True) -> str:
    return export_text(store.snapshot(), fmt, checks=checks)


def export_text(registry: Registry, fmt: Format = "toml", *, checks: bool = True) -> str:
    """``registry`` as ``kutui registry export`` prints it (any store's registry)."""
    if not checks:
        registry = _without_checks(registry)
    text = dump_registry(registry).decode("utf-8")
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
    if fmt == "toml":
        return parse_registry(source, text.encode("utf-8"))
    if fmt != "json":
        raise ValueError(f"unknown format {fmt!r}")
    import tomli_w

    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RegistryError(source, f"is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RegistryError(source, "is not a kutui registry export (not a JSON object)")
    try:
        as_toml = tomli_w.dumps(_datetimes(doc))
    except (TypeError, ValueError) as exc:  # null values, mixed arrays: not a registry
        raise RegistryError(source, f"is not a kutui registry export ({exc})") from None
    return parse_registry(source, as_toml.encode("utf-8"))


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
    registry = parse_export(text, fmt, source=source or Path(f"<import.{fmt}>"))
    with store.write() as tx:
        for key in registry.keys:
            if key.last_check is None:
                held = tx.key_by_id(key.id)
                key.last_check = held.last_check if held is not None else None
        tx.replace_registry(registry)
    return registry
