"""Per-pool request budgets that pace a large run below KuCoin's Management quota.

KuCoin counts request weight per account ("pool") in a window that starts with the first request and
lasts 30 s, and reports what is left on every answer (``gw-ratelimit-limit``, ``-remaining``,
``-reset`` in ms; docs/kucoin.md, "Rate-limit headers"). A run that fires 64 requests at once at one
uid would spend a VIP0 quota (2,000 = 100 key-info calls of weight 20) and collect 429s, so each
pool gets a ``PoolBudget``:

- quota unknown: exactly ONE request goes first to learn it; the others wait for its answer;
- quota known: a request *reserves* its weight before it is sent (so 64 requests in flight cannot
  all spend the same remaining points) and gives it back when its answer reports the new remaining;
- budget short: wait until the window resets, or give up (``RateWaitTooLong``, with the reset)
  when that is further away than ``max_wait``;
- answers without headers (timeouts, a proxy, a 5xx): after two such probes the pool is left
  unpaced rather than serialised.

Counting is conservative: an answer's ``remaining`` already includes requests that are still
reserved here, so the budget may wait slightly early; it never spends more than KuCoin reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from kutui.kucoin.ratelimit import RateLimit

#: Weight of ``GET /api/v1/user/api-key`` in the Management pool (docs/kucoin.md, "Endpoints the
# simulator serves").
KEY_INFO_WEIGHT = 20
#: Answers whose reset lies this much later than the one we hold start a new window.
_NEW_WINDOW_TOLERANCE_S = 0.1
#: Slack added to KuCoin's countdown before sending into the next window.
_RESET_MARGIN_S = 0.01
#: Probes without budget headers (timeouts, bare errors) before the pool is left unpaced.
_MAX_FAILED_PROBES = 2


class RateWaitTooLong(Exception):
    """The pool's budget is spent and resets later than the caller is willing to wait."""

    def __init__(self, pool: str, reset_ms: int) -> None:
        super().__init__(f"rate budget of {pool} spent; resets in {reset_ms / 1000:.1f} s")
        self.pool = pool
        self.reset_ms = reset_ms


class _State(Enum):
    UNKNOWN = "unknown"  # nothing learned yet: next request is the probe
    PROBING = "probing"  # the probe is in flight: everyone else waits
    KNOWN = "known"  # limit/remaining/reset known: pace by reservation
    UNPACED = "unpaced"  # answers carry no budget headers: do not pace


@dataclass
class PoolBudget:
    name: str
    state: _State = _State.UNKNOWN
    limit: int | None = None
    remaining: int = 0
    reset_at: float | None = None  # monotonic time the current window ends (None: unknown)
    reserved: int = 0  # weight of requests sent but not answered
    failed_probes: int = 0
    waits: int = 0  # how often a request had to wait for a reset (for tests and the bench)
    # Set (and replaced) whenever the budget changes; waiters re-check after it fires. State
    # changes never await, so on one event loop no lock is needed.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait_change(self, at_most: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout=at_most)


@dataclass(frozen=True)
class Reservation:
    pool: str
    weight: int
    probe: bool
    metered: bool


class BudgetBook:
    """All pools of one run. One event loop; ``settle`` is synchronous so it is safe in
    ``finally`` blocks of cancelled tasks."""

    def __init__(
        self,
        *,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait = max_wait
        self.clock = clock
        self.pools: dict[str, PoolBudget] = {}

    def pool(self, name: str) -> PoolBudget:
        budget = self.pools.get(name)
        if budget is None:
            budget = self.pools[name] = PoolBudget(name)
        return budget

    async def acquire(self, name: str, weight: int = KEY_INFO_WEIGHT) -> Reservation:
        """Wait until ``weight`` may be spent in pool ``name``; raises ``RateWaitTooLong``."""
        budget = self.pool(name)
        started = self.clock()
        while True:
            now = self.clock()
            if budget.state is _State.UNKNOWN:
                budget.state = _State.PROBING
                return Reservation(name, weight, probe=True, metered=False)
            if budget.state is _State.PROBING:
                await budget.wait_change()
                continue
            if budget.state is _State.UNPACED:
                return Reservation(name, weight, probe=False, metered=False)
            if budget.reset_at is not None and now >= budget.reset_at:
                # KuCoin restarts the window with our next request.
                budget.remaining = budget.limit or 0
                budget.reset_at = None
            available = budget.remaining - budget.reserved
            if available >= weight or (budget.reserved == 0 and budget.reset_at is None):
                # Enough left; or nothing in flight and no reset known: one request learns.
                budget.reserved += weight
                return Reservation(name, weight, probe=False, metered=True)
            if budget.reset_at is None:
                await budget.wait_change()  # answers in flight will tell us the window
                continue
            wait = budget.reset_at - now
            if now - started + wait > self.max_wait:
                raise RateWaitTooLong(name, int(wait * 1000))
            budget.waits += 1
            await budget.wait_change(wait)

    def settle(
        self,
        reservation: Reservation,
        rate_limit: RateLimit | None,
        *,
        answered: bool,
        exhausted: bool = False,
    ) -> None:
        """Give back the reservation and learn from the answer's budget headers.

        ``answered``: KuCoin (or something) replied; False for timeouts and connection errors.
        ``exhausted``: the answer was a 429: the pool is empty until the reset it reports.
        """
        budget = self.pool(reservation.pool)
        if reservation.metered:
            budget.reserved = max(0, budget.reserved - reservation.weight)
        if exhausted and rate_limit is not None:
            rate_limit = RateLimit(rate_limit.limit, 0, rate_limit.reset_ms, rate_limit.seen_at)
        self._learn(budget, reservation, rate_limit, answered)
        if exhausted and budget.state is _State.KNOWN:
            budget.remaining = 0
        budget.notify()

    def _learn(
        self,
        budget: PoolBudget,
        reservation: Reservation,
        rate_limit: RateLimit | None,
        answered: bool,
    ) -> None:
        if rate_limit is None or rate_limit.remaining is None:
            if reservation.probe and budget.state is _State.PROBING:
                # Timeouts and some error answers carry no budget: let another request probe,
                # but after a few such answers stop serialising the pool.
                budget.failed_probes += 1
                exhausted = budget.failed_probes >= _MAX_FAILED_PROBES
                budget.state = _State.UNPACED if exhausted else _State.UNKNOWN
            return
        seen_at = rate_limit.seen_at or self.clock()
        reset_at = (
            seen_at + rate_limit.reset_ms / 1000 + _RESET_MARGIN_S
            if rate_limit.reset_ms is not None
            else None
        )
        if rate_limit.limit is not None:
            budget.limit = rate_limit.limit
        elif budget.limit is None:
            budget.limit = rate_limit.remaining
        fresh = budget.state is not _State.KNOWN or budget.reset_at is None
        new_window = (
            reset_at is not None
            and budget.reset_at is not None
            and reset_at > budget.reset_at + _NEW_WINDOW_TOLERANCE_S
        )
        if fresh or new_window:
            budget.remaining = rate_limit.remaining
            budget.reset_at = reset_at
        else:
            # Same window: answers arrive out of order, the smallest remaining is the latest.
            budget.remaining = min(budget.remaining, rate_limit.remaining)
            if reset_at is not None and budget.reset_at is not None:
                # Every estimate is late by the answer's transit: keep the latest.
                budget.reset_at = max(budget.reset_at, reset_at)
        budget.state = _State.KNOWN
