"""CONTRACT STUB — the vault helper replaces the bodies; signatures are fixed (others code against them).

The vault, format v1 (security.md §6.2): one encrypted file holding every credential.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from kutui.model import Slot
from kutui.secret import Secret

T = TypeVar("T")


@dataclass(frozen=True)
class Credential:
    """One key's credentials in one slot. ``api_version`` is KuCoin's key version (1, 2 or 3)."""

    api_key: Secret
    api_secret: Secret
    passphrase: Secret
    api_version: int = 3
    saved_at: datetime | None = None


@dataclass(frozen=True)
class KdfParams:
    """``kdf`` is ``"argon2id"`` (memory_kib, iterations, lanes) or ``"scrypt"`` (log_n, r, p)."""

    kdf: str = "argon2id"
    memory_kib: int = 256 * 1024
    iterations: int = 3
    lanes: int = 4
    log_n: int = 17
    r: int = 8
    p: int = 1


class VaultData:
    """The decrypted payload: per key id, credentials in CURRENT / PENDING / PREVIOUS slots."""

    def get(self, key_id: str, slot: Slot = Slot.CURRENT) -> Credential | None: ...
    def slots(self, key_id: str) -> dict[Slot, Credential]: ...
    def put(self, key_id: str, credential: Credential, slot: Slot = Slot.CURRENT) -> None: ...
    def drop(self, key_id: str, slot: Slot) -> None: ...
    def remove_key(self, key_id: str) -> None: ...
    def promote(self, key_id: str) -> None:
        """PENDING -> CURRENT and CURRENT -> PREVIOUS, in memory (saved by the enclosing update)."""

    def key_ids(self) -> list[str]: ...


class Vault:
    path: Path
    generation: int
    has_keyring_stanza: bool
    has_passphrase_stanza: bool
    rollback_warning: str | None  # set when the generation went down since last seen

    @property
    def data(self) -> VaultData: ...

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        passphrase: Secret | None,
        kdf: KdfParams | None = None,
        keyring_kek: bytes | None = None,
        allow_weak: bool = False,
        backups: int = 3,
    ) -> Vault: ...

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        passphrase: Secret | None = None,
        keyring_kek: bytes | None = None,
        backups: int = 3,
    ) -> Vault: ...

    def update(self, fn: Callable[[VaultData], T]) -> T:
        """Lock, re-read the file (with the data key already held), apply ``fn``, save atomically."""
        raise NotImplementedError

    def reload(self) -> None: ...
    def set_passphrase(self, passphrase: Secret, kdf: KdfParams | None = None) -> None: ...
    def close(self) -> None:
        """Drop the data key and the decrypted payload (the TUI's lock action)."""
