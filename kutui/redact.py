"""Redaction for anything that may reach a log, a toast or an error message.

Two layers: patterns for the three KuCoin credential shapes (24-hex API key, UUID secret, a
``passphrase=`` query parameter or ``KC-API-*`` header value), and the exact values of the secrets
currently in memory, registered by the vault when it opens.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref

from kutui.secret import MASK, Secret

_PATTERNS = (
    re.compile(r"\b[0-9a-f]{24}\b"),
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
    re.compile(r"(?i)(passphrase=)[^&\s\"']+"),
    re.compile(r"(?i)(kc-api-(?:key|sign|passphrase)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
)

_lock = threading.Lock()
# Weak references, by identity: a WeakSet would hash each Secret (an HMAC of its value,
# kutui/secret.py) and a WeakValueDictionary costs a Python call per entry; a 10,000-key vault
# registers 30,000 secrets as it opens. Dead references are dropped when the index is rebuilt
# and whenever they outnumber the live ones.
_known: list[weakref.ref[Secret]] = []
_live = 0  # how many of _known were alive at the last pruning
_index: dict[str, list[str]] | None = None  # a value's first characters -> values, longest first

_PREFIX = 4  # the shortest value masked
_LONG_PREFIX = 8  # values this long are indexed by more characters, so shared stems stay cheap


def register(secret: Secret) -> None:
    """Remember a secret so ``redact`` masks its exact value wherever it appears."""
    global _index
    if len(secret) >= _PREFIX:
        with _lock:
            _known.append(weakref.ref(secret))
            _index = None
            if len(_known) > 2 * _live + 1024:
                _prune()


def _prune() -> list[Secret]:
    """Drop dead references (call with ``_lock`` held); returns the live secrets."""
    global _live
    pairs = [(ref, s) for ref in _known if (s := ref()) is not None]
    _known[:] = [ref for ref, _ in pairs]
    _live = len(pairs)
    return [s for _, s in pairs]


def _value_index() -> dict[str, list[str]]:
    # Built once per change of the known set: a scan then costs one dict lookup per character
    # of text, whatever the number of secrets (10,000 keys hold 30,000 of them).
    global _index
    with _lock:
        if _index is None:
            index: dict[str, list[str]] = {}
            for value in sorted({s.reveal() for s in _prune()}, key=len, reverse=True):
                width = _LONG_PREFIX if len(value) >= _LONG_PREFIX else _PREFIX
                index.setdefault(value[:width], []).append(value)
            _index = index
        return _index


def _mask_known(text: str) -> str:
    index = _value_index()
    if not index:
        return text
    out: list[str] = []
    i = 0
    start = 0
    while i <= len(text) - _PREFIX:
        match = None
        for width in (_LONG_PREFIX, _PREFIX):
            candidates = index.get(text[i : i + width], ())
            match = next((v for v in candidates if text.startswith(v, i)), None)
            if match is not None:
                break
        if match is None:
            i += 1
            continue
        out.append(text[start:i])
        out.append(MASK)
        i += len(match)
        start = i
    out.append(text[start:])
    return "".join(out)


def redact(text: str) -> str:
    text = _mask_known(text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


def install_log_redaction() -> None:
    """Quieten httpx/httpcore (their INFO lines carry full URLs) and redact every log record.

    The record factory is wrapped, not a handler: records are masked when they are created, so a
    handler added later (a file log, pytest's caplog, Textual's devtools) never sees clear text.
    """
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_kutui_redacting", False):
        return

    def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        RedactingFilter().filter(record)
        return record

    redacting_factory._kutui_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
