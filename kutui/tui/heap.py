"""The TUI's long-lived objects, kept out of the cyclic garbage collector's full passes.

With 10,000 keys the app holds a few million objects that live as long as the registry is
loaded (keys, tree nodes, table rows and their cells). Each full collection walks all of them
and holds the event loop for a large part of a second, and a running check allocates enough to
trigger one every few seconds: key presses then wait (bench/yardstick.py measured a p95 of
0.85 s; 0.10 s frozen). ``settle`` moves everything alive into the permanent generation
(``gc.freeze``) once the screen is built; ``release`` gives it back before a rebuild, so the
objects being replaced are collected as usual. Acyclic garbage is freed by reference counting
either way; only cycles created between a ``settle`` and the next ``release`` wait longer.
"""

from __future__ import annotations

import gc
import threading


def settle() -> None:
    """The screen is built: exempt what is alive now from full collections."""
    gc.freeze()


def release() -> None:
    """A rebuild starts: what was exempted is collected again when it becomes garbage."""
    gc.unfreeze()


#: The third threshold while a check runs: no full pass for the rest of the run in practice.
_RUN_THRESHOLD2 = 1_000_000
_held: list[int] = []  # thresholds to give back, one entry per run holding full passes
_lock = threading.Lock()  # the registry is read on a thread, holding full passes meanwhile


def hold_full_passes() -> None:
    """A check run starts: no full collections until it ends. After ``settle`` the few objects
    outside the permanent generation make every tenth young pass a full one, and each walks what
    the run kept so far (new results and table cells): bench/yardstick.py measured five passes
    of 0.17-0.29 s in four seconds of a 10,000-key check. Young passes still collect the
    engine's short-lived cycles."""
    with _lock:
        first, second, third = gc.get_threshold()
        _held.append(third)
        gc.set_threshold(first, second, _RUN_THRESHOLD2)


def release_full_passes(*, exempt: bool = True) -> None:
    """The run ended: full collections as before; what the run kept is exempted (``settle``)
    so that the next full passes do not walk it either. ``exempt`` False: not exempted (a
    rebuild's first screen: the screen exempts itself once built, and the garbage it left
    must meet a full pass first)."""
    with _lock:
        if not _held:
            return
        third = _held.pop()
        if _held:
            return
        first, second, _ = gc.get_threshold()
        gc.set_threshold(first, second, third)
    if exempt:
        settle()
