"""Keyring backends for the keyring fault tests, loaded by the agent via PYTHON_KEYRING_BACKEND.

``FileKeyring`` keeps entries in the JSON file named by ``KUTUI_TEST_KEYRING_FILE`` so a test can
change or delete an entry between two agent runs ("behind kutui's back"); deleting a missing
entry raises ``PasswordDeleteError`` like the real backends do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import InitError, KeyringLocked, PasswordDeleteError


def _store_path() -> Path:
    return Path(os.environ["KUTUI_TEST_KEYRING_FILE"])


def read_store(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def write_store(path: Path, store: dict[str, str]) -> None:
    path.write_text(json.dumps(store))


class FileKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return read_store(_store_path()).get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        store = read_store(_store_path())
        store[f"{service}/{username}"] = password
        write_store(_store_path(), store)

    def delete_password(self, service: str, username: str) -> None:
        store = read_store(_store_path())
        if store.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("Password not found")
        write_store(_store_path(), store)


class LockedKeyring(KeyringBackend):
    """A Secret Service collection that stays locked (the user dismissed the prompt)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class InitFailingKeyring(KeyringBackend):
    """A backend whose service cannot be reached (no D-Bus session bus)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise InitError("Failed to create the collection: Prompt dismissed.")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise InitError("Failed to create the collection: Prompt dismissed.")

    def delete_password(self, service: str, username: str) -> None:
        raise InitError("Failed to create the collection: Prompt dismissed.")
