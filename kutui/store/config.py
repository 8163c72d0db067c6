"""config.toml: the user's settings, validated strictly.

Read with tomllib; an unknown key, a wrong type or a bad value is a ``ConfigError`` naming the file
and the key path (``checks.concurrency``). The app never rewrites this file; ``kutui init`` writes
it once from ``config.example.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kutui.model import DEFAULT_API_URL


@dataclass(frozen=True)
class UiConfig:
    theme: str = "kucoin-dark"
    theme_dir: str = ""  # "" = <config dir>/themes
    animations: bool = False
    mouse: bool = True
    idle_lock_minutes: int = 15  # 0 = never


@dataclass(frozen=True)
class ChecksConfig:
    concurrency: int = 64
    timeout_seconds: float = 10.0
    retries: int = 1  # extra rounds for `unreachable` results
    stale_after_hours: int = 24  # audit: last check older than this
    max_rate_wait_seconds: float = 60.0  # give up as rate_limited past this wait


@dataclass(frozen=True)
class RotationConfig:
    max_key_age_days: int = 90
    expiry_warning_days: int = 14


@dataclass(frozen=True)
class VaultConfig:
    unlock: str = "auto"  # auto | keyring | passphrase
    kdf: str = "argon2id"  # argon2id | scrypt
    argon2_memory_mib: int = 256
    argon2_iterations: int = 3
    argon2_lanes: int = 4
    scrypt_log_n: int = 17
    backups: int = 3
    keyring_timeout_seconds: float = 5.0


@dataclass(frozen=True)
class KucoinConfig:
    api_url: str = DEFAULT_API_URL


@dataclass(frozen=True)
class Config:
    ui: UiConfig = field(default_factory=UiConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    vault: VaultConfig = field(default_factory=VaultConfig)
    kucoin: KucoinConfig = field(default_factory=KucoinConfig)
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys
