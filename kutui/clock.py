"""The one clock: every wall-clock reading in kutui comes from a ``Clock``.

The simulator's idea of "now" (timestamp windows, key expiry), the client's request timestamps,
check results, rotation checklists, the audit and the TUI's ages must agree, or a demo built at
one instant is judged at another (``docs/architecture.md``, "Time"). So each of them takes a
``Clock`` (or its ``ms`` method) and, when none is given, uses ``current()``.

``current()`` is the system clock, shifted by ``KUTUI_CLOCK_SHIFT_DAYS`` when that is set: the
test suite runs once with it moved a year ahead to prove that nothing depends on today's date,
and a user can ask "what will the audit say in 30 days?" the same way. Monotonic time (pacing,
timeouts) is never shifted: it measures durations, not dates.
"""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime, timedelta

SHIFT_ENV = "KUTUI_CLOCK_SHIFT_DAYS"


class Clock:
    """Wall-clock time in UTC, optionally started at a chosen instant and shifted.

    ``Clock()`` is the system clock. ``Clock.starting_at(when)`` reads ``when`` now and advances
    in real time from there (tests: stable dates, yet timestamp windows and quotas still move).
    ``Clock.frozen_at(when)`` always reads ``when`` (screenshots: "expires in 5d" stays 5d).
    """

    __slots__ = ("_origin", "_mono0", "_frozen", "shift")

    def __init__(
        self,
        *,
        shift: timedelta = timedelta(0),
        origin: datetime | None = None,
        frozen: bool = False,
    ) -> None:
        if origin is not None and origin.tzinfo is None:
            raise ValueError("a clock's origin must be timezone-aware")
        if frozen and origin is None:
            raise ValueError("a frozen clock needs an origin")
        self._origin = origin
        self._mono0 = time.monotonic()
        self._frozen = frozen
        self.shift = shift

    @classmethod
    def starting_at(cls, when: datetime) -> Clock:
        return cls(origin=when)

    @classmethod
    def frozen_at(cls, when: datetime) -> Clock:
        return cls(origin=when, frozen=True)

    def shifted(self, delta: timedelta) -> Clock:
        """The same clock, ``delta`` later (a new object: clocks are shared, never mutated)."""
        clock = Clock(shift=self.shift + delta, origin=self._origin, frozen=self._frozen)
        clock._mono0 = self._mono0
        return clock

    def now(self) -> datetime:
        """Now, aware UTC, to the second (what kutui stores and shows)."""
        return self.exact().replace(microsecond=0)

    def exact(self) -> datetime:
        if self._origin is None:
            base = datetime.now(UTC)
        elif self._frozen:
            base = self._origin
        else:
            base = self._origin + timedelta(seconds=time.monotonic() - self._mono0)
        return base + self.shift

    def ms(self) -> float:
        """Epoch milliseconds: what KuCoin's ``KC-API-TIMESTAMP`` and the simulator use."""
        return self.exact().timestamp() * 1000.0

    def __repr__(self) -> str:
        start = "system" if self._origin is None else self._origin.isoformat()
        kind = ", frozen" if self._frozen else ""
        return f"Clock({start}{kind}, shift={self.shift})"


def _shift_from_env() -> timedelta:
    raw = os.environ.get(SHIFT_ENV, "").strip()
    if not raw:
        return timedelta(0)
    from kutui.errors import UsageError

    try:
        days = float(raw)
    except ValueError:
        raise UsageError(f"{SHIFT_ENV}={raw[:40]!r} is not a number of days") from None
    if not math.isfinite(days) or abs(days) > 36_500:
        raise UsageError(f"{SHIFT_ENV}={raw[:40]!r} must be a number of days within 100 years")
    return timedelta(days=days)


_current: Clock | None = None


def current() -> Clock:
    """The process's clock: the system clock plus ``KUTUI_CLOCK_SHIFT_DAYS``."""
    global _current
    if _current is None:
        _current = Clock(shift=_shift_from_env())
    return _current


def reset() -> None:
    """Forget the process clock so the next ``current()`` re-reads the environment (tests)."""
    global _current
    _current = None
