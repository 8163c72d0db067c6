"""Bounded per-key check history: the last ``MAX_ENTRIES`` results of every key.

The history lives in kutui.db (``Home.record_results``/``history``/``histories``). Before that it
was a JSON state file (``Paths.history``); the functions here read and write that format for the
migration (``kutui.store.migrate``), for tests that build an old home and for bench/registry.py's
comparison. Each entry is a small summary of a ``CheckResult``; never a secret.

Format::

    {"schema": 1, "keys": {"<key id>": [{"at": "2026-11-25T08:00:00+00:00", "status": "ok",
                                          "code": "200000", "http": 200, "latency_ms": 51.2}, ...]}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kutui.errors import RegistryError
from kutui.model import CheckResult, Status
from kutui.store.files import atomic_write, locked, read_private
from kutui.text import clean_text

MAX_ENTRIES = 50
SCHEMA = 1


@dataclass(frozen=True)
class HistoryEntry:
    checked_at: datetime
    status: Status
    code: str = ""
    http_status: int = 0
    latency_ms: float = 0.0

    @classmethod
    def of(cls, result: CheckResult) -> HistoryEntry:
        return cls(
            result.checked_at, result.status, result.code, result.http_status, result.latency_ms
        )

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.checked_at.isoformat(),
            "status": self.status.value,
            "code": self.code,
            "http": self.http_status,
            "latency_ms": round(self.latency_ms, 1),
        }


History = dict[str, list[HistoryEntry]]


def _entry(path: Path, key_id: str, index: int, raw: object) -> HistoryEntry:
    where = f"keys.{key_id}[{index}]"
    if not isinstance(raw, dict):
        raise RegistryError(path, "must be an object", key=where)
    try:
        at = datetime.fromisoformat(str(raw["at"]))
        status = Status(str(raw["status"]))
        code = clean_text(str(raw.get("code", "")), limit=16)
        http = int(raw.get("http", 0))
        latency = float(raw.get("latency_ms", 0.0))
    except KeyError as exc:
        raise RegistryError(path, f"is missing {exc.args[0]!r}", key=where) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise RegistryError(path, f"has a bad value ({exc})", key=where) from None
    if at.tzinfo is None:
        raise RegistryError(path, "time has no UTC offset", key=f"{where}.at")
    return HistoryEntry(at, status, code, http, latency)


def parse_history(path: Path, data: bytes) -> History:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(path, f"is not valid JSON ({exc})") from None
    except RecursionError:  # json recurses per nesting level: 100,000 '[' would crash kutui
        raise RegistryError(path, "is not a kutui history file (JSON nested too deeply)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), dict):
        raise RegistryError(path, "is not a kutui history file (no 'keys' object)")
    if doc.get("schema") != SCHEMA:
        raise RegistryError(
            path, f"has schema {doc.get('schema')!r}; this kutui reads {SCHEMA}", key="schema"
        )
    history: History = {}
    for key_id, entries in doc["keys"].items():
        if not isinstance(entries, list):
            raise RegistryError(path, "must be a list", key=f"keys.{key_id}")
        history[str(key_id)] = [_entry(path, key_id, i, e) for i, e in enumerate(entries)]
    return history


def read_history(path: Path) -> History:
    """Every key's history; an absent file is an empty history."""
    try:
        data = read_private(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:  # EACCES, EISDIR, EIO: the user's to fix, not a kutui bug
        raise RegistryError(path, f"cannot be read ({exc.strerror or exc})") from None
    return parse_history(path, data)


def dump_history(history: Mapping[str, list[HistoryEntry]]) -> bytes:
    doc = {
        "schema": SCHEMA,
        "keys": {key_id: [e.to_json() for e in entries] for key_id, entries in history.items()},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def append_history(
    path: Path,
    results: Iterable[tuple[str, CheckResult]],
    *,
    limit: int = MAX_ENTRIES,
) -> None:
    """Append a batch of (key id, result), keep the last ``limit`` per key: one atomic write."""
    batch = [(key_id, HistoryEntry.of(result)) for key_id, result in results]
    if not batch:
        return
    with locked(path):
        history = read_history(path)
        for key_id, entry in batch:
            history.setdefault(key_id, []).append(entry)
        for key_id in {key_id for key_id, _ in batch}:
            history[key_id] = history[key_id][-limit:]
        atomic_write(path, dump_history(history))
