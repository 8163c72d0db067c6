"""The TUI's state, owned by the app: the registry and its index, each key's recent history and
rotations, the open vault, and the check results not yet saved.

Screens read it (through ``KutuiApp.state``); it changes in three ways only: a fresh read of the
home (``loaded``), a check result (``learn``, the rule of ``kutui.store.learn``), and the vault
opening or locking. Writes to the home go through ``kutui.ops`` in the app's workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kutui.model import ApiKey, CheckResult, Consumer, Registry, Status
from kutui.rotation.checklist import Checklist
from kutui.store.history import History, HistoryEntry
from kutui.store.learn import apply_to_key
from kutui.store.vault import Vault

#: Results kept per key on screen (kutui.db keeps more: docs/storage.md).
HISTORY_LENGTH = 20


@dataclass
class TuiState:
    registry: Registry = field(default_factory=Registry)
    #: Per key, the results on screen: what the lists need from the start (a key whose last
    #: check was an outage: its last definite result, ``Home.last_definite``), the results of
    #: this session, and a key's stored ones once its detail asks (``history_of``).
    history: History = field(default_factory=dict)
    #: key id -> its rotations, oldest first
    rotations: dict[str, list[Checklist]] = field(default_factory=dict)
    #: key id -> its consumers (kutui.ops.consumers), in their order
    consumers: dict[str, list[Consumer]] = field(default_factory=dict)
    vault: Vault | None = None
    loaded: bool = False
    #: Every result not yet in kutui.db, in order: two runs before one save are two entries.
    unsaved: list[tuple[str, CheckResult]] = field(default_factory=list)
    _by_id: dict[str, ApiKey] = field(default_factory=dict, repr=False)
    #: Keys whose stored results ``history`` holds (read since the last ``loaded_from``).
    _read: set[str] = field(default_factory=set, repr=False)

    def key_by_id(self, key_id: str) -> ApiKey | None:
        return self._by_id.get(key_id)

    def set_registry(self, registry: Registry) -> None:
        self.registry = registry
        self._by_id = {k.id: k for k in registry.keys}
        self.loaded = True

    def loaded_from(
        self,
        registry: Registry,
        history: History,
        rotations: dict[str, list[Checklist]],
        consumers: list[Consumer],
    ) -> None:
        self.history, self.rotations = history, rotations
        self._read = set()
        self.consumers = {}
        for consumer in consumers:
            self.consumers.setdefault(consumer.key_id, []).append(consumer)
        self.set_registry(registry)

    def history_of(
        self, key_id: str, read: Callable[[str], list[HistoryEntry]]
    ) -> list[HistoryEntry]:
        """The key's recent results, oldest first: its stored ones (``read``, once per load:
        one indexed query) and, after them, this session's not saved yet."""
        held = self.history.get(key_id, [])
        if key_id in self._read:
            return held
        stored = read(key_id)
        known = set(stored)  # a result saved since it was recorded here is stored as it was
        merged = [*stored, *(entry for entry in held if entry not in known)]
        merged.sort(key=lambda entry: entry.checked_at)  # stable: stored order among equals
        del merged[:-HISTORY_LENGTH]
        self.history[key_id] = merged
        self._read.add(key_id)
        return merged

    def record(self, key_id: str, result: CheckResult) -> bool:
        """Queue a result for saving and add it to the key's history on screen; an unchecked
        result (no request sent) is neither, as kutui.db's ``record_results`` skips it."""
        if result.status is Status.UNCHECKED:
            return False
        history = self.history.setdefault(key_id, [])
        history.append(HistoryEntry.of(result))
        del history[:-HISTORY_LENGTH]
        self.unsaved.append((key_id, result))
        return True

    def learn(self, key: ApiKey, result: CheckResult) -> bool:
        """What a result teaches the key on screen (``kutui.store.learn``), recorded for saving.
        False when it teaches nothing (unchecked)."""
        if not apply_to_key(self.registry, key, result):
            return False
        return self.record(key.id, result)

    def take_unsaved(self) -> list[tuple[str, CheckResult]]:
        batch, self.unsaved = self.unsaved, []
        return batch

    def lock(self) -> None:
        if self.vault is not None:
            self.vault.close()
            self.vault = None
