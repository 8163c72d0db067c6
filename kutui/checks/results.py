"""Save check results: into the registry (last check, what KuCoin reported) and the history.

``apply_result`` is pure (it edits a ``Registry`` in memory); ``ResultSaver`` batches results so
a run of 1,000 keys costs a handful of locked, atomic writes of accounts.toml and history.json
instead of 2,000.

What a result changes:

- every checked result becomes the key's ``last_check`` (status, code, time, latency...);
- ``ok`` also records what KuCoin says about the key: permissions, IP whitelist (masked), key
  version, created time, remark, ``remote = present``, and the uid on the key's account or
  sub-account;
- ``invalid_key`` (400003) marks the key ``remote = missing``: deleted on KuCoin (or wrong site);
- ``unchecked`` (no secret stored, no request sent) changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kutui.model import CheckResult, Registry, RemoteState, Status
from kutui.store.history import append_history
from kutui.store.home import Home


def apply_result(registry: Registry, key_id: str, result: CheckResult) -> bool:
    """Record ``result`` on the key; False when the key is gone or nothing was checked."""
    key = registry.key_by_id(key_id)
    if key is None or result.status is Status.UNCHECKED:
        return False
    key.last_check = result
    if result.status is Status.INVALID_KEY:
        key.remote = RemoteState.MISSING
    if result.status is not Status.OK:
        return True
    key.remote = RemoteState.PRESENT
    key.permissions_seen = result.permissions
    key.ip_whitelist_seen = result.ip_whitelist
    if result.api_version:
        key.api_version = result.api_version
    if result.created_at is not None:
        key.created_at = result.created_at
    if result.remark:
        key.remark = result.remark
    if result.uid is not None:
        account = registry.account(key.ref.account)
        if account is not None:
            if not key.ref.sub:
                account.uid = result.uid
            else:
                sub = account.sub(key.ref.sub)
                if sub is not None:
                    sub.uid = result.uid
                    sub.remote = RemoteState.PRESENT
    return True


def apply_results(registry: Registry, results: Iterable[tuple[str, CheckResult]]) -> int:
    return sum(apply_result(registry, key_id, result) for key_id, result in results)


class ResultSaver:
    """Collect results and save them in batches: every ``batch`` results or ``interval`` s.

    Each save rewrites the whole registry (seconds for 10,000 keys), so saves are also spaced by
    four times the last one's cost: a run never spends more than a fifth of its time saving.
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
        if result.status is Status.UNCHECKED:
            return
        self.pending.append((key_id, result))
        since = time.monotonic() - self._last
        if since < 4 * self._cost:
            return
        if len(self.pending) >= self.batch or since >= self.interval:
            self.flush()

    def flush(self) -> None:
        started = time.monotonic()
        self._last = started
        if not self.pending:
            return
        batch, self.pending = self.pending, []

        def record(registry: Registry) -> int:
            return apply_results(registry, batch)

        self.home.update_registry(record)
        append_history(self.home.paths.history, batch)
        self.saved += len(batch)
        self.writes += 1
        self._last = time.monotonic()
        self._cost = self._last - started
