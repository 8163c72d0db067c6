"""Fixtures for the store tests: tiny KDF parameters and the private keyring session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kutui.store.kdf import KdfParams
from tests.keyring_session import KeyringSession, KeyringSessionError

# Far below the creation minimum: only reachable with allow_weak=True, as the tests do.
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


@pytest.fixture
def tiny_kdf() -> KdfParams:
    return TINY_KDF


@pytest.fixture(scope="module")
def keyring_env() -> Iterator[dict[str, str]]:
    """Environment for child processes that reach a private, unlocked gnome-keyring.

    In CI (CI=true) a daemon that cannot start fails the test; elsewhere it skips."""
    session = KeyringSession()
    try:
        env = session.start()
    except (KeyringSessionError, OSError) as exc:
        session.stop()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the private keyring session is required in CI: {exc}")
        pytest.skip(f"no private keyring session here: {exc}")
    try:
        yield env
    finally:
        session.stop()
