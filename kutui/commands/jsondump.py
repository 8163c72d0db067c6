"""``json.dumps(value, indent=2, ensure_ascii=False, default=...)``, the same text, faster.

On CPython 3.11 ``json`` falls back to its pure-Python encoder whenever ``indent`` is set, and
spends half a second on ``kutui key list --json`` at 10,000 keys (bench/yardstick.py). This walks
the value once and leaves strings to the C escaper (``json.encoder.encode_basestring``), which is
what the C encoder itself uses. Anything it does not handle the way ``json`` does (a dict key that
is not text) falls back to ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

__all__ = ["dumps"]

_INDENT = "  "


class _Fallback(Exception):
    """A value ``json.dumps`` encodes differently than this module would: let it do so."""


def dumps(value: Any, *, default: Callable[[Any], Any]) -> str:
    out: list[str] = []
    try:
        _encode(value, out, "\n", default)
    except _Fallback:
        return json.dumps(value, indent=2, default=default, ensure_ascii=False)
    return "".join(out)


def _float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN is the one value unequal to itself
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


_BOOL = {True: "true", False: "false"}
# Exact types only (a subclass, e.g. a StrEnum, goes through _encode's isinstance checks).
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring,
    int: int.__repr__,
    float: _float,
    bool: _BOOL.__getitem__,
    type(None): lambda _: "null",
}


def _encode(value: Any, out: list[str], newline: str, default: Callable[[Any], Any]) -> None:
    # The order of json's own checks (json/encoder.py, _iterencode): a str subclass (StrEnum)
    # is text, a bool is not a number, an int subclass (IntEnum) prints as int.
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + _INDENT
        if all(type(item) is str for item in value):  # permissions, consumers: one join
            out.append("[" + inner + ("," + inner).join(map(encode_basestring, value)))
            out.append(newline + "]")
            return
        if _records(value, out, newline, default):
            return
        separator = "[" + inner
        for item in value:
            out.append(separator)
            separator = "," + inner
            scalar = _SCALARS.get(type(item))
            if scalar is not None:
                out.append(scalar(item))
            else:
                _encode(item, out, inner, default)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + _INDENT
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Fallback
            out.append(separator)
            separator = "," + inner
            out.append(encode_basestring(key))
            out.append(": ")
            scalar = _SCALARS.get(type(item))
            if scalar is not None:
                out.append(scalar(item))
            else:
                _encode(item, out, inner, default)
        out.append(newline + "}")
    else:
        _encode(default(value), out, newline, default)


def _records(
    value: list[Any] | tuple[Any, ...], out: list[str], newline: str, default: Callable[[Any], Any]
) -> bool:
    """A list of dicts with the same keys in the same order (``key list``'s records): one
    %-template for the keys, filled in per record. False (nothing written) for any other list."""
    first = value[0]
    if type(first) is not dict or not first:
        return False
    keys = tuple(first)
    if not all(type(k) is str for k in keys):
        return False
    if not all(type(r) is dict and tuple(r) == keys for r in value):
        return False
    inner = newline + _INDENT
    field = inner + _INDENT
    template = (
        "{"
        + ",".join(field + encode_basestring(k).replace("%", "%%") + ": %s" for k in keys)
        + inner
        + "}"
    )
    scalars = _SCALARS
    pieces: list[str] = []
    for record in value:
        cells: list[str] = []
        for item in record.values():
            scalar = scalars.get(type(item))
            if scalar is not None:
                cells.append(scalar(item))
            else:
                sub: list[str] = []
                _encode(item, sub, field, default)
                cells.append("".join(sub))
        pieces.append(template % tuple(cells))
    out.append("[" + inner)
    out.append(("," + inner).join(pieces))
    out.append(newline + "]")
    return True
