"""Save check results: into the registry (last check, what KuCoin reported) and the history.

What a result teaches the registry is one rule, ``kutui.store.learn``, applied by kutui.db's
``record_results``; ``ResultSaver`` batches results so a run of 1,000 keys costs a handful of
kutui.db transactions (one fsync each, see docs/storage.md) instead of 1,000.
"""

from __future__ import annotations

import time

from kutui.model import CheckResult, Status
from kutui.store.home import Home

__all__ = ["ResultSaver"]


class ResultSaver:
    """Collect results and save them in batches: every ``batch`` results or ``interval`` s.

    Each save is one transaction (an fsync); saves are also spaced by four times the last one's
    cost, so a run never spends more than a fifth of its time saving, even on a slow disk.
    Call ``add`` as results stream in and ``flush`` once at the end (also after a cancel, so
    what was learned is kept).
    """

    def __init__(self, home: Home, *, batch: int = 250, interval: float = 2.0) -> None:
        self.home = home
        self.batch = batch
        self.interval = interval
        self.pending: list[tuple[str, CheckResult]] = []
        self.saved = 0
        self.writes = 0
        self._last = time.monotonic()
        self._cost = 0.0  # seconds the last save took

    def add(self, key_id: str, result: CheckResult) -> None:
        if self.take(key_id, result):
            self.flush()

    def take(self, key_id: str, result: CheckResult) -> bool:
        """Queue a result; True when a save is due. For a caller on an event loop that runs
        ``flush`` in a thread, so the loop keeps serving requests while SQLite syncs."""
        if result.status is Status.UNCHECKED:
            return False
        self.pending.append((key_id, result))
        since = time.monotonic() - self._last
        if since < 4 * self._cost:
            return False
        return len(self.pending) >= self.batch or since >= self.interval

    def flush(self) -> None:
        started = time.monotonic()
        self._last = started
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        self.home.record_results(batch)
        self.saved += len(batch)
        self.writes += 1
        self._last = time.monotonic()
        self._cost = self._last - started
