"""A leak scanner: find known secrets, in clear or lightly encoded, in files and captured text.

Forms searched for each secret (as UTF-8 bytes): the clear text; base64 (standard and URL-safe) at
all three byte alignments, so a secret in the middle of a larger encoded blob (an OSC 52 sequence,
a JSON field) is found too; hex in lower and upper case; URL-encoding (``quote`` and
``quote_plus``); and the escaped forms an exception message or a serialiser gives a secret with
control or non-ASCII characters (``repr``, the bytes' ``repr``, ``ascii``, ``unicode_escape``,
JSON). The vault (``vault.kv1*``) is scanned like everything else: encrypted, it holds
none of these forms, so it needs no exception.

Findings name the place, a label for the secret and the form, never the secret itself, so a failing
test does not print what it is protecting.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Shorter values (a 4-character fingerprint is shown on purpose) would match by chance.
MIN_LENGTH = 6


@dataclass(frozen=True)
class Finding:
    where: str
    label: str
    form: str

    def __str__(self) -> str:
        return f"{self.where}: {self.label} ({self.form})"


def _base64_forms(raw: bytes) -> dict[str, bytes]:
    """The part of ``raw``'s base64 that does not depend on the bytes around it, per alignment."""
    forms: dict[str, bytes] = {}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = 4 if shift else 0  # the first group mixes in the unknown bytes before
        end = len(encoded) - (4 if (shift + len(raw)) % 3 else 0)  # and the last, those after
        core = encoded[start:end]
        if len(core) >= 4:
            forms[f"base64@{shift}"] = core
            urlsafe = core.replace(b"+", b"-").replace(b"/", b"_")
            if urlsafe != core:
                forms[f"base64url@{shift}"] = urlsafe
    return forms


def forms_of(secret: str) -> dict[str, bytes]:
    """Every searched encoding of ``secret`` by form name."""
    raw = secret.encode("utf-8")
    forms: dict[str, bytes] = {"clear": raw}
    forms.update(_base64_forms(raw))
    forms["hex"] = raw.hex().encode()
    forms["HEX"] = raw.hex().upper().encode()
    for name, encode in (
        ("urlencoded", urllib.parse.quote),
        ("urlencoded+", urllib.parse.quote_plus),
    ):
        value = encode(secret, safe="").encode()
        if value != raw:
            forms[name] = value
    forms.update(_escaped_forms(secret, raw))
    return forms


def _escaped_forms(secret: str, raw: bytes) -> dict[str, bytes]:
    """The secret as an exception or a serialiser would quote it: Python's ``repr`` of the text
    and of its bytes (``b'Ab\\xc3\\xa9'``, what h11 says of a bad header), ``ascii()``,
    ``unicode_escape`` and JSON. Only the forms that differ from the clear text are searched."""
    candidates = {
        "repr": repr(secret)[1:-1],
        "bytes-repr": repr(raw)[2:-1],
        "ascii": ascii(secret)[1:-1],
        "unicode-escape": secret.encode("unicode_escape").decode("ascii"),
        "json": json.dumps(secret)[1:-1],
    }
    return {
        name: value.encode("utf-8", "surrogateescape")
        for name, value in candidates.items()
        if value != secret
    }


class LeakScanner:
    """Holds the secrets (label -> value) and their forms; scans bytes, text, files and trees."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.patterns: list[tuple[str, str, bytes]] = []
        for label, value in secrets.items():
            if len(value) < MIN_LENGTH:
                raise ValueError(f"{label} is shorter than {MIN_LENGTH} characters: unscannable")
            for form, pattern in forms_of(value).items():
                self.patterns.append((label, form, pattern))
        self.scanned: list[str] = []

    def scan_bytes(self, data: bytes, where: str) -> list[Finding]:
        self.scanned.append(where)
        return [Finding(where, label, form) for label, form, p in self.patterns if p in data]

    def scan_text(self, text: str, where: str) -> list[Finding]:
        return self.scan_bytes(text.encode("utf-8", "surrogateescape"), where)

    def scan_file(self, path: Path) -> list[Finding]:
        return self.scan_bytes(path.read_bytes(), str(path))

    def scan_tree(self, root: Path, *, pattern: str = "*") -> list[Finding]:
        """Every regular file under ``root`` matching ``pattern`` (symlinks not followed)."""
        findings: list[Finding] = []
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if path.match(pattern) and stat.S_ISREG(path.lstat().st_mode):
                    findings += self.scan_file(path)
        return findings

    def scan_all(self, texts: Iterable[tuple[str, str]]) -> list[Finding]:
        findings: list[Finding] = []
        for where, text in texts:
            findings += self.scan_text(text, where)
        return findings
