"""Key import files: many keys at once from TOML, CSV or JSON.

Fields per key: ``ref`` (ACCOUNT/LABEL or ACCOUNT/SUB/LABEL), ``api_key``, ``api_secret``,
``passphrase``, optional ``api_version`` (1, 2 or 3; default 3) and ``note``.

- TOML: an array of tables ``[[keys]]``.
- CSV: a header line naming the columns, then one key per line.
- JSON: a list of objects (or ``{"keys": [...]}``).

A file that cannot be read or parsed at all raises ``ImportFileError``; a bad row is reported with
its position (``line 7`` for CSV, ``entry 3`` for TOML and JSON) and why, and the good rows still
import. Values become ``Secret`` as soon as they are read; a reason never quotes a secret.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from kutui.errors import ImportFileError
from kutui.model import (
    KeyRef,
    Registry,
    clean_pasted,
    credential_problem,
    fingerprint,
    secret_warning,
)
from kutui.secret import Secret
from kutui.text import clean_text, control_problem

REQUIRED = ("ref", "api_key", "api_secret", "passphrase")
OPTIONAL = ("api_version", "note")
FIELDS = REQUIRED + OPTIONAL
MAX_FILE_BYTES = 64 * 1024 * 1024
FORMATS = ("toml", "csv", "json")


class Outcome(StrEnum):
    ADDED = "added"
    SKIPPED = "skipped"
    REJECTED = "rejected"


@dataclass
class ImportRow:
    """One key read from an import file. ``problem`` set = the row is rejected."""

    where: str  # "line 7" / "entry 3"
    ref: KeyRef | None = None
    ref_text: str = ""
    api_key: Secret = field(default_factory=lambda: Secret(""))
    api_secret: Secret = field(default_factory=lambda: Secret(""))
    passphrase: Secret = field(default_factory=lambda: Secret(""))
    api_version: int = 3
    note: str = ""
    problem: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.api_key.reveal()) if self.api_key else ""


@dataclass
class RowReport:
    where: str
    ref: str
    outcome: Outcome
    reason: str = ""
    fingerprint: str = ""


# --------------------------------------------------------------------------- reading


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")) and not stripped.startswith("[["):
        return "json"
    if "[[keys]]" in text:
        return "toml"
    return "csv"


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``MAX_FILE_BYTES``.

    Opened with O_NONBLOCK and checked with fstat before anything is read: ``/dev/zero`` would
    fill memory, a FIFO would block until a writer comes, a terminal would wait for typing.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ImportFileError(path, "does not exist") from None
    except OSError as exc:
        raise ImportFileError(path, f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImportFileError(path, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ImportFileError(path, "is not a regular file (a device, FIFO or socket)")
        if info.st_size > MAX_FILE_BYTES:
            raise ImportFileError(path, f"is {info.st_size} bytes; the limit is {MAX_FILE_BYTES}")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ImportFileError(path, f"cannot be read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise ImportFileError(path, f"is larger than the limit of {MAX_FILE_BYTES} bytes")
    return data


def read_import_file(path: Path, *, fmt: str | None = None) -> list[ImportRow]:
    """Parse ``path`` into rows (each validated on its own). The file is only read."""
    data = _read_regular_file(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(path, f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    fmt = fmt or detect_format(path, text)
    if fmt == "toml":
        records = _toml_records(path, text)
    elif fmt == "json":
        records = _json_records(path, text)
    elif fmt == "csv":
        records = _csv_records(path, text)
    else:
        raise ImportFileError(path, f"unknown format {fmt!r}; use toml, csv or json")
    return [_row(path, where, record) for where, record in records]


def _toml_records(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportFileError(path, f"is not valid TOML: {exc}") from None
    except RecursionError:
        raise ImportFileError(path, "is not valid TOML: nested too deeply") from None
    unknown = sorted(set(doc) - {"keys"})
    if unknown:
        raise ImportFileError(path, "unknown key; the file holds [[keys]] tables", key=unknown[0])
    keys = doc.get("keys", [])
    if not isinstance(keys, list):
        raise ImportFileError(path, "must be an array of tables ([[keys]])", key="keys")
    return [(f"entry {i} ([[keys]] #{i})", item) for i, item in enumerate(keys, 1)]


def _json_records(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            path, f"is not valid JSON: {exc.msg} (at line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise ImportFileError(path, f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise ImportFileError(path, "is not valid JSON: nested too deeply") from None
    if isinstance(doc, dict) and set(doc) == {"keys"}:
        doc = doc["keys"]
    if not isinstance(doc, list):
        raise ImportFileError(path, 'must hold a JSON list of key objects (or {"keys": [...]})')
    return [(f"entry {i}", item) for i, item in enumerate(doc, 1)]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _csv_records(path: Path, text: str) -> list[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(path, "is empty; the first line must name the columns")
        columns = [clean_pasted(c).lower() for c in header]
        unknown = [c for c in columns if c not in FIELDS]
        if len(unknown) == len(columns):  # no header at all: do not quote what may be a key
            raise ImportFileError(
                path, "line 1 must be a header naming the columns: " + ", ".join(FIELDS)
            )
        if unknown:
            raise ImportFileError(
                path,
                f"line 1: unknown column {unknown[0]!r}; columns are " + ", ".join(FIELDS),
            )
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise ImportFileError(path, f"line 1: missing column {missing[0]!r}")
        if len(set(columns)) != len(columns):
            raise ImportFileError(path, "line 1: a column is named twice")
        rows: list[tuple[str, Any]] = []
        for cells in reader:
            where = f"line {reader.line_num}"
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(columns):
                problem = f"has {len(cells)} fields; the header has {len(columns)}"
                rows.append((where, _Bad(problem)))
                continue
            rows.append((where, dict(zip(columns, cells, strict=True))))
    except csv.Error as exc:
        raise ImportFileError(path, f"line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


@dataclass(frozen=True)
class _Bad:
    """A row whose shape was already wrong when the file was split into rows."""

    problem: str


#: Fields whose text must be clean as read: a control character or a lone surrogate in them is
#: a damaged file, refused whole (a note is cleaned instead: it is only shown).
_STRICT_FIELDS = ("ref", "api_key", "api_secret", "passphrase")


def _refuse_unreadable_text(path: Path, where: str, record: dict[Any, Any]) -> None:
    for name in _STRICT_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            # clean_pasted drops what pasting drags along (spaces, CR, zero-width); the rest
            # must be clean.
            problem = control_problem(clean_pasted(value))
            if problem:
                raise ImportFileError(path, f"{where}: {name} {problem}; nothing was stored")


def _row(path: Path, where: str, record: Any) -> ImportRow:
    row = ImportRow(where=where)
    if isinstance(record, _Bad):  # a structural problem found while splitting the file
        row.problem = record.problem
        return row
    if not isinstance(record, dict):
        row.problem = "is not a table/object of fields"
        return row
    unknown = sorted(str(k) for k in record if k not in FIELDS)
    if unknown:
        row.problem = f"unknown field {unknown[0]!r}; fields are " + ", ".join(FIELDS)
        return row
    for name in REQUIRED:
        if name not in record or (isinstance(record[name], str) and not record[name].strip()):
            row.problem = f"missing {name}"
            return row
    for name in ("ref", "api_key", "api_secret", "passphrase", "note"):
        if name in record and not isinstance(record[name], str):
            row.problem = f"{name} must be text"
            return row
    _refuse_unreadable_text(path, where, record)
    try:
        row.ref = KeyRef.parse(clean_pasted(record["ref"]))
    except ValueError:
        # Not quoted back: a shifted column may have put a credential in the ref field.
        row.problem = (
            "ref is not ACCOUNT/LABEL or ACCOUNT/SUB/LABEL (names: 1-64 letters, digits or "
            ". _ @ + -, starting with a letter or digit)"
        )
        return row
    row.ref_text = str(row.ref)
    row.api_key = Secret(clean_pasted(record["api_key"]))
    row.api_secret = Secret(clean_pasted(record["api_secret"]))
    row.passphrase = Secret(clean_pasted(record["passphrase"]))
    row.note = clean_text(record.get("note", ""), multiline=True).strip()
    version = _version(record.get("api_version", 3))
    if version is None:
        row.problem = "api_version must be 1, 2 or 3"
        return row
    row.api_version = version
    problem = credential_problem(
        row.api_key.reveal(), row.api_secret.reveal(), row.passphrase.reveal()
    )
    if problem:
        row.problem = problem
        return row
    warning = secret_warning(row.api_secret.reveal())
    if warning:
        row.warnings.append(warning)
    return row


def _version(value: Any) -> int | None:
    if isinstance(value, str):
        value = value.strip() or "3"
        value = int(value) if value.isdigit() else None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3):
        return value
    return None


# --------------------------------------------------------------------------- planning


def plan_import(rows: Iterable[ImportRow], registry: Registry) -> list[RowReport]:
    """Decide each row's outcome against the registry (no I/O). Rows are ``added`` here when they
    can be added; the caller writes them all in one vault update and one registry update."""
    reports: list[RowReport] = []
    first_seen: dict[KeyRef, str] = {}
    # A listed key without a secret (``kutui import``'s metadata, or an interrupted import) is
    # filled in, as ``kutui key add`` does.
    present = {key.ref for key in registry.keys if key.has_secret}
    for row in rows:
        if row.problem or row.ref is None:
            reports.append(RowReport(row.where, row.ref_text, Outcome.REJECTED, row.problem))
            continue
        ref = row.ref
        if ref in first_seen:
            reason = f"{ref} appears again (first at {first_seen[ref]})"
            reports.append(RowReport(row.where, str(ref), Outcome.REJECTED, reason))
            continue
        first_seen[ref] = row.where
        if ref in present:
            reports.append(
                RowReport(
                    row.where, str(ref), Outcome.SKIPPED, f"{ref} already exists", row.fingerprint
                )
            )
            continue
        reports.append(
            RowReport(row.where, str(ref), Outcome.ADDED, "; ".join(row.warnings), row.fingerprint)
        )
    return reports
