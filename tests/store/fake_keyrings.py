"""Keyring backends that misbehave, loaded by the keyring agent through PYTHON_KEYRING_BACKEND.

The agent runs as a child process with PYTHONPATH pointing at the repository, so these dotted
paths (``tests.store.fake_keyrings.HangingKeyring``) import there.
"""

from __future__ import annotations

import os
import time

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError


class HangingKeyring(KeyringBackend):
    """Like a locked Secret Service collection waiting for an unlock prompt nobody sees."""

    priority = 1

    def _hang(self) -> None:
        pid_file = os.environ.get("KUTUI_TEST_PID_FILE")
        if pid_file:
            with open(pid_file, "w") as handle:
                handle.write(str(os.getpid()))
        while True:
            time.sleep(3600)

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()


class RaisingKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("the collection is locked")


class CrashingKeyring(RaisingKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("D-Bus connection lost")


class ForgetfulKeyring(KeyringBackend):
    """Accepts every write and keeps nothing, like the null backend but under another name."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        return None

    def delete_password(self, service: str, username: str) -> None:
        return None
