"""The state of each vault entry against accounts.toml: usable, unusable (and why), or an orphan
(an entry no key record lists, left by an interrupted add from an older kutui).

``kutui doctor``, ``kutui key list --orphans`` and every unlock's warnings use this one view, so
an entry is named the same way everywhere: key id, slot, the reference when the registry knows
it, and never any of its content.
"""

from __future__ import annotations

from dataclasses import dataclass

from kutui.model import Registry, Slot
from kutui.store.vault import VaultData

OK = "ok"
UNUSABLE = "unusable"
ORPHAN = "orphan"
MISSING = "missing"


@dataclass(frozen=True)
class EntryState:
    key_id: str
    ref: str | None  # None: accounts.toml does not list this key id
    slot: str | None  # None: the whole entry
    state: str  # OK, UNUSABLE, ORPHAN or MISSING
    why: str = ""

    @property
    def fix(self) -> str:
        if self.state == OK:
            return ""
        if self.ref is None:
            return f"kutui key remove --orphan {self.key_id}"
        if self.state == MISSING:
            return f"kutui key remove {self.ref}, then kutui key add {self.ref}"
        return f"kutui key remove {self.ref}"

    def describe(self) -> str:
        where = f"{self.ref} (key id {self.key_id})" if self.ref else f"vault entry {self.key_id}"
        slot = f", slot {self.slot}" if self.slot else ""
        text = f"{where}{slot}: {self.state}" + (f": {self.why}" if self.why else "")
        return text + (f"; to remove it: {self.fix}" if self.fix else "")


def entry_states(registry: Registry, data: VaultData) -> list[EntryState]:
    """Every slot of every entry, then the keys recorded as stored that have no entry."""
    refs = {key.id: str(key.ref) for key in registry.keys}
    unusable: dict[str, list[EntryState]] = {}
    for bad in data.unusable():
        state = EntryState(bad.key_id, refs.get(bad.key_id), bad.slot, UNUSABLE, bad.why)
        unusable.setdefault(bad.key_id, []).append(state)
    ids = data.key_ids()
    out: list[EntryState] = []
    for key_id in ids:
        ref = refs.get(key_id)
        for slot in data.slots(key_id):
            if ref is None:
                why = "accounts.toml lists no key with this id (an add was interrupted)"
                out.append(EntryState(key_id, None, slot.value, ORPHAN, why))
            else:
                out.append(EntryState(key_id, ref, slot.value, OK))
        out.extend(unusable.get(key_id, []))
    present = set(ids)
    for key in registry.keys:
        if key.has_secret and key.id not in present:
            why = "accounts.toml says its credentials are stored; the vault has none"
            out.append(EntryState(key.id, str(key.ref), Slot.CURRENT.value, MISSING, why))
    return out


def problems(registry: Registry, data: VaultData) -> list[EntryState]:
    return [e for e in entry_states(registry, data) if e.state != OK]
