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


def settle() -> None:
    """The screen is built: exempt what is alive now from full collections."""
    gc.freeze()


def release() -> None:
    """A rebuild starts: what was exempted is collected again when it becomes garbage."""
    gc.unfreeze()
