"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.keyring_session import KeyringSession, KeyringSessionError


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
