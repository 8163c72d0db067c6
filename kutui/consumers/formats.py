"""The consumer files' formats: put a key's three credentials in, read them back out.

Pure text in, text out (no I/O): everything else in the file is kept. An env file keeps its other
lines and comments as they are; a JSON file keeps its other keys, their values and their order
(its layout is re-indented with the indent it had). A problem is a ``FormatProblem`` whose message
names the key or line, never a value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kutui.model import Consumer, ConsumerKind, env_names

Values = tuple[str, str, str]  # api key, secret, passphrase (in clear: in memory only)


class FormatProblem(Exception):
    """The file cannot take the credentials (not JSON, another exchange's entry, ...)."""


# --------------------------------------------------------------------------- env files

#: Characters an env file cannot carry unquoted the same way for systemd (which unquotes and
#: unescapes) and docker --env-file (which takes the value literally): refused, not quoted.
_ENV_UNSAFE = re.compile(r"[\s\"'\\$`]")


def _assignment(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(\s*(?:export\s+)?){re.escape(name)}\s*=")


def env_render(text: str, names: tuple[str, str, str], values: Values) -> str:
    """``text`` with each ``NAME=value`` set (every line naming it), missing ones appended."""
    for name, value in zip(names, values, strict=True):
        if not value or _ENV_UNSAFE.search(value):
            raise FormatProblem(
                f"{name}: the value has a space, a quote, a backslash or a $, which env files "
                "do not carry the same way everywhere; use a JSON consumer or kutui exec"
            )
    lines = text.splitlines(keepends=True)
    found: set[str] = set()
    for index, line in enumerate(lines):
        for name, value in zip(names, values, strict=True):
            match = _assignment(name).match(line)
            if match is not None:
                ending = line[len(line.rstrip("\r\n")) :]
                lines[index] = f"{match.group(1)}{name}={value}{ending or ''}"
                found.add(name)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    for name, value in zip(names, values, strict=True):
        if name not in found:
            lines.append(f"{name}={value}{newline}")
    return "".join(lines)


def env_read(text: str, names: tuple[str, str, str]) -> tuple[str | None, ...]:
    """The value each name last gets in ``text`` (the last assignment wins, as in systemd)."""
    out: list[str | None] = []
    for name in names:
        value: str | None = None
        pattern = _assignment(name)
        for line in text.splitlines():
            match = pattern.match(line)
            if match is not None:
                value = line[match.end() :].strip()
        out.append(value)
    return tuple(out)


# --------------------------------------------------------------------------- JSON files


def _indent_of(text: str) -> int | str:
    """The indent the file uses (its first indented line), 4 when it has none."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 4


def _load(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise FormatProblem(
            f"is not plain JSON (line {getattr(exc, 'lineno', '?')}); comments and trailing "
            "commas cannot be kept, so kutui does not rewrite it"
        ) from None
    if not isinstance(doc, dict):
        raise FormatProblem("is not a JSON object")
    return doc


def _table(doc: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    table = doc.setdefault(key, {})
    if not isinstance(table, dict):
        raise FormatProblem(f"{what} is not a JSON object")
    return table


def _exchange_check(table: dict[str, Any], field: str, what: str) -> None:
    name = table.get(field, "kucoin")
    if not isinstance(name, str) or name.lower() != "kucoin":
        raise FormatProblem(f"{what}.{field} is not kucoin; kutui does not put a KuCoin key there")


def _slots(
    doc: dict[str, Any], consumer: Consumer, *, create: bool
) -> tuple[dict[str, Any], Values]:
    """The JSON object holding the credentials and the three field names in it."""
    kind = consumer.kind
    if kind is ConsumerKind.FREQTRADE:
        if not create and not isinstance(doc.get("exchange"), dict):
            raise FormatProblem("exchange is missing")
        table = _table(doc, "exchange", "exchange")
        _exchange_check(table, "name", "exchange")
        if create:
            table.setdefault("name", "kucoin")
        return table, ("key", "secret", "password")
    if kind is ConsumerKind.PASSIVBOT:
        if not create and not isinstance(doc.get(consumer.user), dict):
            raise FormatProblem(f"{consumer.user} is missing")
        table = _table(doc, consumer.user, consumer.user)
        _exchange_check(table, "exchange", consumer.user)
        table["exchange"] = "kucoin"
        return table, ("key", "secret", "passphrase")
    if kind is ConsumerKind.CCXT_JSON:
        return doc, ("apiKey", "secret", "password")
    raise ValueError(f"{kind} is not a JSON consumer")


def json_render(text: str, consumer: Consumer, values: Values) -> str:
    """``text`` (a JSON object, or empty for a new file) with the consumer's fields set."""
    doc = _load(text)
    table, fields = _slots(doc, consumer, create=True)
    for field, value in zip(fields, values, strict=True):
        table[field] = value  # a str: never a number, whatever the characters
    ending = "\n" if not text or text.endswith("\n") else ""
    return json.dumps(doc, indent=_indent_of(text), ensure_ascii=False) + ending


def json_read(text: str, consumer: Consumer) -> tuple[object, ...]:
    table, fields = _slots(_load(text), consumer, create=False)
    return tuple(table.get(field) for field in fields)


# --------------------------------------------------------------------------- dispatch


def render(consumer: Consumer, text: str, values: Values) -> str:
    if consumer.kind is ConsumerKind.ENVFILE:
        return env_render(text, env_names(consumer.env_prefix), values)
    return json_render(text, consumer, values)


def read_values(consumer: Consumer, text: str) -> tuple[object, ...]:
    if consumer.kind is ConsumerKind.ENVFILE:
        return env_read(text, env_names(consumer.env_prefix))
    return json_read(text, consumer)


# --------------------------------------------------------------------------- kutui exec

EXEC_FORMATS = ("env", "freqtrade", "ccxt")
#: freqtrade's env names (it maps FREQTRADE__A__B to config key a.b).
FREQTRADE_ENV = (
    "FREQTRADE__EXCHANGE__KEY",
    "FREQTRADE__EXCHANGE__SECRET",
    "FREQTRADE__EXCHANGE__PASSWORD",
)
#: The names ccxt's own examples read for KuCoin (``<EXCHANGE>_APIKEY`` and so on).
CCXT_ENV = ("KUCOIN_APIKEY", "KUCOIN_SECRET", "KUCOIN_PASSWORD")


def _freqtrade_would_convert(value: str) -> bool:
    """freqtrade turns env values that read as booleans or numbers into them: a key made of
    digits (or like ``12e4``) would arrive as a number, not the key."""
    if value.lower() in ("true", "false", "t", "f", "yes", "no"):
        return True
    for convert in (int, float):
        try:
            convert(value)
        except ValueError:
            continue
        return True
    return False


def exec_env(values: Values, fmt: str, prefix: str) -> dict[str, str]:
    """The variables ``kutui exec --format FMT`` adds to the child's environment."""
    if fmt == "env":
        names = env_names(prefix)
    elif fmt == "freqtrade":
        names = FREQTRADE_ENV
        for name, value in zip(names, values, strict=True):
            if _freqtrade_would_convert(value):
                raise FormatProblem(
                    f"{name}: freqtrade would read this value as a number or a boolean; give it "
                    "the key in its config file (a freqtrade consumer) instead"
                )
    elif fmt == "ccxt":
        names = CCXT_ENV
    else:
        raise FormatProblem(f"unknown format {fmt!r} (one of {', '.join(EXEC_FORMATS)})")
    return dict(zip(names, values, strict=True))
