"""CONTRACT STUB — the registry/CLI helper replaces the bodies; signatures are fixed.

``Home`` is the one door to a kutui home: its paths, config, registry, app state and vault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from kutui.model import Registry
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.config import Config
from kutui.store.vault import Vault

T = TypeVar("T")


@dataclass
class AppState:
    """state.toml: small things the app remembers (never secrets)."""

    theme: str = ""
    vault_generation: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Home:
    paths: Paths
    config: Config

    def __init__(self, paths: Paths, config: Config) -> None: ...

    @classmethod
    def load(cls, home: str | Path | None = None) -> Home:
        """Resolve paths (``--home``/``KUTUI_HOME``/platformdirs), load config.toml (ConfigError if
        bad; defaults if absent), remove stale temp files."""
        ...

    def registry(self) -> Registry: ...

    def update_registry(self, fn: Callable[[Registry], T]) -> T:
        """Lock accounts.toml, re-read it, apply ``fn``, write it atomically; returns fn's result."""
        ...

    def state(self) -> AppState: ...
    def update_state(self, fn: Callable[[AppState], T]) -> T: ...

    def vault_exists(self) -> bool: ...

    def open_vault(
        self,
        *,
        passphrase: Secret | None = None,
        passphrase_file: Path | None = None,
        prompt: Callable[[str], Secret] | None = None,
    ) -> Vault:
        """Keyring stanza first (unless config says passphrase), then ``passphrase``, the file,
        ``$CREDENTIALS_DIRECTORY/kutui-passphrase``, then ``prompt``; else UnlockError.
        Records the generation seen in state.toml and sets ``vault.rollback_warning``."""
        ...
