"""Bulk reads without the cyclic garbage collector's pauses."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Build many small objects without the cyclic collector running every 700 allocations:
    they form no cycles, and at 10,000 keys its passes cost a third of a registry snapshot
    (bench/registry.py) and of a vault payload's parse."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
