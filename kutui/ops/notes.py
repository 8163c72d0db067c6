"""A key's permission note: what it is for, the permissions it should have, who uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kutui.errors import UsageError
from kutui.model import PermissionNote, Registry
from kutui.ops.change import Change
from kutui.text import clean_text

if TYPE_CHECKING:
    from kutui.store.home import Home


def save_note(home: Home, key_id: str, note: PermissionNote) -> Change:
    """Replace the key's note (its text cleaned of control characters, kutui/text.py)."""
    cleaned = PermissionNote(
        clean_text(note.text, multiline=True),
        tuple(note.expected_permissions),
        tuple(note.consumers),
    )

    def change(reg: Registry) -> str:
        stored = reg.key_by_id(key_id)
        if stored is None:
            raise UsageError("the key was removed meanwhile; note not saved")
        stored.note = cleaned
        return str(stored.ref)

    ref = home.update_registry(change)
    return Change(f"saved the note of {ref}", key_ids=(key_id,))
