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
_known: weakref.WeakSet[Secret] = weakref.WeakSet()


def register(secret: Secret) -> None:
    """Remember a secret so ``redact`` masks its exact value wherever it appears."""
    if len(secret) >= 4:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    with _lock:
        values = sorted((s.reveal() for s in _known), key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
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
    """Quieten httpx/httpcore (their INFO lines carry full URLs) and redact every handler."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
