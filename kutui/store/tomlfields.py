"""Strict reading of parsed TOML tables: every value type-checked, every unknown key reported.

Used by the registry and state readers. Each problem raises the caller's ``FileProblem`` subclass
with the file and the key path (``keys[3].created_at``), so the user can find the line to fix.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from kutui.errors import FileProblem

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    datetime: "a date-time",
    list: "an array",
    dict: "a table",
}


def toml_type_name(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date | time):
        return "a date or time"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def parse_toml(path: Path, data: bytes, error: type[FileProblem]) -> dict[str, Any]:
    """Decode and parse; syntax errors keep tomllib's ``(at line L, column C)``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, f"is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nesting level: ~1000 "[" crash it
        raise error(path, "is not valid TOML: arrays or tables nested too deeply") from None


class Table:
    """One TOML table being read: typed getters plus ``finish()`` to reject unknown keys."""

    def __init__(
        self, data: Mapping[str, Any], *, path: Path, where: str, error: type[FileProblem]
    ) -> None:
        self.data = data
        self.path = path
        self.where = where
        self.error = error
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> NoReturn:
        raise self.error(self.path, problem, key=self.key_path(key) if key else self.where)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, kind: type | tuple[type, ...], required: bool) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if required:
                self.fail(key, "is required")
            return None
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fail(key, f"must be {want}, not {toml_type_name(value)}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self._get(key, str, default is None)
        return default if value is None else value  # type: ignore[return-value]

    def integer(self, key: str, default: int | None = None, *, lo: int | None = None) -> int:
        value = self._get(key, int, default is None)
        if value is None:  # absent and optional (a required key raised in _get)
            return default if default is not None else 0
        if lo is not None and value < lo:
            self.fail(key, f"must be at least {lo}")
        return value  # type: ignore[no-any-return]

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, int, False)
        return value  # type: ignore[no-any-return]

    def number(self, key: str, default: float | None = None) -> float:
        value = self._get(key, (int, float), default is None)
        if value is None:  # absent and optional (a required key raised in _get)
            return default if default is not None else 0.0
        if math.isnan(value) or math.isinf(value):
            self.fail(key, "must be a finite number")
        return float(value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, bool, default is None)
        return default if value is None else value  # type: ignore[return-value]

    def opt_flag(self, key: str) -> bool | None:
        value = self._get(key, bool, False)
        return value  # type: ignore[no-any-return]

    def opt_datetime(self, key: str) -> datetime | None:
        value = self._get(key, datetime, False)
        if value is not None and value.tzinfo is None:
            self.fail(key, "must include a time zone offset (for example 2025-01-31T12:00:00Z)")
        return value  # type: ignore[no-any-return]

    def when(self, key: str) -> datetime:
        value = self.opt_datetime(key)
        if value is None:
            self.fail(key, "is required")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, False)
        if value is None:
            return ()
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{key}[{index}]", f"must be a string, not {toml_type_name(item)}")
        return tuple(value)

    def table(self, key: str) -> Table | None:
        value = self._get(key, dict, False)
        if value is None:
            return None
        return Table(value, path=self.path, where=self.key_path(key), error=self.error)

    def tables(self, key: str) -> list[Table]:
        value = self._get(key, list, False)
        if value is None:
            return []
        out: list[Table] = []
        for index, item in enumerate(value):
            where = f"{self.key_path(key)}[{index}]"
            if not isinstance(item, dict):
                raise self.error(
                    self.path, f"must be a table, not {toml_type_name(item)}", key=where
                )
            out.append(Table(item, path=self.path, where=where, error=self.error))
        return out

    def finish(self) -> None:
        for key in self.data:
            if key not in self._seen:
                self.fail(key, "unknown key")


def drop_none(value: Any) -> Any:
    """tomli-w cannot write None: leave such keys out (readers treat absent as None)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [drop_none(v) for v in value if v is not None]
    return value
