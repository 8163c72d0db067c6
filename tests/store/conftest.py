"""Fixtures for the store tests: tiny KDF parameters (the keyring session: tests/conftest.py)."""

from __future__ import annotations

import pytest

from kutui.store.kdf import KdfParams

# Far below the creation minimum: only reachable with allow_weak=True, as the tests do.
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


@pytest.fixture
def tiny_kdf() -> KdfParams:
    return TINY_KDF
