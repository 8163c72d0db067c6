"""The leak scanner itself: it must find every form it claims to, anywhere, and print no secret."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.faults.leakscan import LeakScanner, forms_of

SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
PASS = "Pass word/+&=é"
scanner_secrets = {"api_secret": SECRET, "passphrase": PASS}


@given(st.binary(max_size=10), st.binary(max_size=10), st.sampled_from([SECRET, PASS]))
def test_base64_is_found_at_any_alignment(before: bytes, after: bytes, secret: str) -> None:
    blob = before + secret.encode() + after
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        found = LeakScanner(scanner_secrets).scan_bytes(b"x" + encode(blob) + b"y", "blob")
        assert any(f.form.startswith("base64") for f in found)


@pytest.mark.parametrize(
    ("form", "encoded"),
    [
        ("clear", PASS.encode()),
        ("hex", PASS.encode().hex().encode()),
        ("HEX", PASS.encode().hex().upper().encode()),
        ("urlencoded", urllib.parse.quote(PASS, safe="").encode()),
        ("urlencoded+", urllib.parse.quote_plus(PASS).encode()),
    ],
)
def test_each_form_is_found_and_named(form: str, encoded: bytes) -> None:
    found = LeakScanner(scanner_secrets).scan_bytes(b"GET /x?a=" + encoded + b"&b=1", "url")
    assert [(f.label, f.form) for f in found if f.form == form] == [("passphrase", form)]


def test_unrelated_data_and_near_misses_are_clean(tmp_path: Path) -> None:
    scanner = LeakScanner(scanner_secrets)
    (tmp_path / "a").write_bytes(SECRET[:-1].encode() + b" " + binascii.hexlify(b"other"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("fingerprint " + SECRET[-4:])
    assert scanner.scan_tree(tmp_path) == []
    assert len(scanner.scanned) == 2


def test_files_in_subdirectories_are_scanned_and_findings_hide_the_secret(tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "log").write_text("kc-api-passphrase: " + PASS)
    found = LeakScanner(scanner_secrets).scan_tree(tmp_path)
    assert [str(f) for f in found] == [f"{tmp_path / 'd' / 'e' / 'log'}: passphrase (clear)"]
    assert PASS not in str(found[0]) and PASS not in repr(found[0])


def test_short_values_are_refused() -> None:
    with pytest.raises(ValueError, match="fp is shorter"):
        LeakScanner({"fp": "d3eb"})


def test_forms_cover_three_alignments() -> None:
    names = set(forms_of(SECRET))
    assert {"base64@0", "base64@1", "base64@2"} <= names


@pytest.mark.parametrize(
    ("quoted", "form"),
    [
        (lambda s: repr(s), "repr"),
        (lambda s: repr(s.encode()), "bytes-repr"),
        (lambda s: ascii(s), "ascii"),
        (lambda s: __import__("json").dumps(s), "json"),
    ],
    ids=["repr", "bytes-repr", "ascii", "json"],
)
def test_a_secret_quoted_in_escaped_form_is_found(quoted: Any, form: str) -> None:
    secret = "Ab12\x01\u00e9-345"
    message = f"Illegal header value {quoted(secret)}"
    findings = LeakScanner({"passphrase": secret}).scan_text(message, "msg")
    assert form in {f.form for f in findings}
