"""The one sanitiser for outside text (kutui/text.py): no escape sequence, control character or
lone surrogate survives it, whatever the input; ordinary text passes unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kutui.text import (
    MESSAGE_LIMIT,
    clean_message,
    clean_text,
    control_problem,
    is_clean,
    json_terminal_safe,
)

CONTROLS = {chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
#: Text biased towards what terminals act on: ESC, CSI/OSC/DCS introducers, BEL, ST, C1.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x1b", "[", "]", "P", "\\", "\x07", "\x9b", "\x9d", "\x90", "\x9c", ";"]),
        st.characters(),
    ),
    max_size=200,
)


@given(HOSTILE, st.booleans())
def test_nothing_a_terminal_acts_on_survives(text: str, multiline: bool) -> None:
    cleaned = clean_text(text, multiline=multiline)
    allowed = {"\n", "\t"} if multiline else set()
    assert not (set(cleaned) & (CONTROLS - allowed))
    cleaned.encode("utf-8")  # no lone surrogate
    assert control_problem(cleaned) is None or multiline


@given(HOSTILE, st.booleans())
def test_cleaning_is_idempotent(text: str, multiline: bool) -> None:
    once = clean_text(text, multiline=multiline)
    assert clean_text(once, multiline=multiline) == once
    assert is_clean(once, multiline=multiline)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=200))
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert clean_text(text) == text


@given(HOSTILE, st.integers(min_value=1, max_value=50))
def test_limit_is_respected(text: str, limit: int) -> None:
    assert len(clean_text(text, limit=limit)) <= limit


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b]52;c;ZXZpbA==\x07b", "ab"),  # OSC 52 clipboard write, BEL-terminated
        ("a\x1b]0;title\x1b\\b", "ab"),  # OSC 0 window title, ST-terminated
        ("a\x1b[2J\x1b[31mred\x1b[0mb", "aredb"),  # clear screen, colours
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel)
        ("a\x1b]52;c;never-terminated", "a"),
        ("a\x1bcb", "ab"),  # RIS: reset the terminal
        ("line1\nline2\ttab\x00", "line1 line2 tab"),
        ("bad\ud800", "bad\ufffd"),
    ],
)
def test_known_sequences(raw: str, shown: str) -> None:
    assert clean_text(raw) == shown


def test_multiline_keeps_newlines_and_tabs() -> None:
    assert clean_text("a\r\nb\tc\x1b[1m", multiline=True) == "a\nb\tc"


def test_messages_are_cut() -> None:
    cut = clean_message("m" * 10_000)
    assert len(cut) == MESSAGE_LIMIT and cut.endswith("…")


@given(st.text(max_size=100))
def test_json_output_holds_nothing_a_terminal_acts_on(text: str) -> None:
    import json

    document = json_terminal_safe(json.dumps({"m": text}, ensure_ascii=False))
    assert not (set(document) & CONTROLS - {"\n"})
    document.encode("utf-8")
    assert json.loads(document) == {"m": text}
