"""The one sanitiser for text that comes from outside kutui (KuCoin answers, import files, TOML a
person edited, notes) before it is stored, printed or rendered.

A terminal acts on what it is sent: an ESC sequence in a KuCoin ``msg`` can set the window title,
clear the screen, fake colours or write the clipboard (OSC 52), so outside text must never reach
it raw. ``clean_text`` removes every escape sequence (CSI, OSC, DCS, SOS, PM, APC, their 8-bit C1
forms, and two-character ESC sequences) with its payload, then every remaining control character:
C0 (newline and tab are kept only where a field allows several lines), DEL and C1. Lone surrogates
(a JSON ``\\ud800`` escape, or bytes read with ``surrogateescape``) cannot be encoded as UTF-8 and
would break the file they are written to; they become U+FFFD.
"""

from __future__ import annotations

import re

#: Stored messages (KuCoin's ``msg``, transport errors) are cut to this many characters.
MESSAGE_LIMIT = 300
ELLIPSIS = "…"

# ESC (or its C1 form) starting a string command: everything up to the string terminator
# (ST = ESC \ or 0x9c; BEL also ends an OSC), or to the end when it is never terminated.
_STRING_COMMAND = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
# CSI (ESC [ or 0x9b): parameter and intermediate bytes, then one final byte.
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
# Any other ESC: intermediates and one final byte (ESC ( B, ESC c, ESC 7...).
_ESC_OTHER = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCE = re.compile(f"{_STRING_COMMAND}|{_CSI}|{_ESC_OTHER}", re.DOTALL)

_CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)))
_SURROGATES = re.compile("[\ud800-\udfff]")
#: Removed outright; tab and newline are mapped separately (kept or made a space).
_DROP = {ord(ch): None for ch in _CONTROLS if ch not in "\t\n"}
_ONE_LINE = {**_DROP, ord("\t"): " ", ord("\n"): " "}
_MULTI_LINE = dict(_DROP)


def clean_text(value: str, *, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` without escape sequences, control characters or lone surrogates.

    ``multiline`` keeps newlines and tabs (notes); otherwise each becomes a space. ``limit``
    truncates the result (with an ellipsis) to at most that many characters.
    """
    text = _SURROGATES.sub("\ufffd", value)
    if multiline:
        text = text.replace("\r\n", "\n")
    text = _SEQUENCE.sub("", text)
    text = text.translate(_MULTI_LINE if multiline else _ONE_LINE)
    return truncate(text, limit) if limit is not None else text


def clean_message(value: str) -> str:
    """A message from outside, cleaned and cut to ``MESSAGE_LIMIT`` for storage and display."""
    return clean_text(value, limit=MESSAGE_LIMIT)


#: json.dumps(ensure_ascii=False) escapes C0 but leaves DEL, C1 (0x9b is CSI to many terminals)
#: and lone surrogates (unprintable) raw; these become \uXXXX escapes, which stay valid JSON.
_JSON_UNSAFE = {
    code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), *range(0xD800, 0xE000))
}


def json_terminal_safe(document: str) -> str:
    """A JSON document with nothing left in it that a terminal acts on (C0 is escaped already)."""
    if document.isascii() and "\x7f" not in document:  # the common case, without a copy
        return document
    return document.translate(_JSON_UNSAFE)


def truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS


def is_clean(value: str, *, multiline: bool = False) -> bool:
    """True when ``clean_text`` would leave ``value`` unchanged."""
    return clean_text(value, multiline=multiline) == value


def control_problem(value: str) -> str | None:
    """Why ``value`` cannot be a credential: a lone surrogate or a control character, or None."""
    if _SURROGATES.search(value):
        return "is not valid UTF-8 text"
    if any(ch in _CONTROLS for ch in value):
        return "contains a control character"
    return None
