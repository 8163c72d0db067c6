"""A rotation checklist edited by hand: its text is cleaned on read, before it reaches a screen."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kutui.rotation import master_flow
from kutui.rotation.store import from_toml, to_toml
from kutui.text import clean_text, is_clean

RID = "260101000000-abcd"
#: OSC 52 (write the clipboard), a bell and a screen clear.
ESC = "\x1b]52;c;ZXZpbA==\x07\x1b[2J"


def test_escapes_in_a_hand_edited_checklist_do_not_survive_reading() -> None:
    checklist = master_flow.new_checklist(RID, "k", "main/admin")
    checklist.steps[0].note = "line one\nline two " + ESC
    checklist.steps[0].evidence = "uid 1001" + ESC
    checklist.consumers = ("bot " + ESC,)
    again = from_toml(Path("x.toml"), to_toml(checklist))
    assert again.steps[0].note.startswith("line one\nline two")  # the user's newlines stay
    assert is_clean(again.steps[0].note, multiline=True)
    assert is_clean(again.steps[0].evidence) and again.steps[0].evidence.startswith("uid 1001")
    assert all(is_clean(c) for c in again.consumers)


@given(note=st.text(max_size=200), consumers=st.lists(st.text(max_size=20), max_size=5))
def test_what_is_read_is_what_was_written_cleaned(note: str, consumers: list[str]) -> None:
    checklist = master_flow.new_checklist(RID, "k", "main/admin")
    checklist.steps[0].note = note
    checklist.consumers = tuple(consumers)
    again = from_toml(Path("x.toml"), to_toml(checklist))
    assert again.steps[0].note == clean_text(note, multiline=True)
    assert again.consumers == tuple(clean_text(c) for c in consumers)
