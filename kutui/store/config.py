"""config.toml: the user's settings, validated strictly.

Read with tomllib; an unknown key, a wrong type or a bad value is a ``ConfigError`` naming the file
and the key path (``checks.concurrency``). The app never rewrites this file; ``kutui init`` writes
it once from ``config.example.toml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kutui.errors import ConfigError
from kutui.model import DEFAULT_API_URL, api_url_problem
from kutui.text import is_clean


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
    delete_grace_seconds: int = 0


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
class StoreConfig:
    """Where keys and the registry live (docs/storage.md, "OpenBao"): this host (local) or a
    KV v2 mount of an OpenBao / Vault server shared by a team (openbao)."""

    kind: str = "local"  # local | openbao
    addr: str = ""  # https://host:8200; http only to loopback
    mount: str = "secret"
    prefix: str = "kutui"
    token_file: str = ""  # "" = $BAO_TOKEN, $VAULT_TOKEN, else ~/.vault-token
    ca_file: str = ""  # "" = the system's CA bundle
    role_id: str = ""  # AppRole (unattended hosts): with secret_id_file
    secret_id_file: str = ""
    lease_seconds: int = 900  # how long a rotation's lease holds without a renewal


@dataclass(frozen=True)
class NotifyConfig:
    # Apprise URLs `kutui check` alerts (README.md, "Monitoring and alerts"); they may hold a
    # chat service's token, which kutui never prints.
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    ui: UiConfig = field(default_factory=UiConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    vault: VaultConfig = field(default_factory=VaultConfig)
    kucoin: KucoinConfig = field(default_factory=KucoinConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys
    store: StoreConfig = field(default_factory=StoreConfig)


# --------------------------------------------------------------------------- loading

SECTIONS: dict[str, type] = {
    "ui": UiConfig,
    "checks": ChecksConfig,
    "rotation": RotationConfig,
    "vault": VaultConfig,
    "kucoin": KucoinConfig,
    "store": StoreConfig,
    "notify": NotifyConfig,
}

UNLOCK_MODES = ("auto", "keyring", "passphrase")
KDF_NAMES = ("argon2id", "scrypt")


def _int_range(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if lo <= value <= hi else f"must be an integer from {lo} to {hi}"

    return check


def _float_range(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if math.isfinite(value) and lo <= value <= hi:
            return None
        return f"must be a number from {lo:g} to {hi:g}"

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else "must be one of " + ", ".join(map(repr, choices))

    return check


STORE_KINDS = ("local", "openbao")


def _store_addr(value: Any) -> str | None:
    """ "" (not set: only a local store) or an origin kutui may send a token to: the same rule
    as the KuCoin API URL (https, plain http only to loopback)."""
    return None if value == "" else api_url_problem(value)


def _kv_path(value: Any) -> str | None:
    if re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,3}", value
    ):
        return None
    return "must be a path of 1 to 4 names (letters, digits, '.', '_' or '-') joined by '/'"


def _theme_name(value: Any) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        return None
    return "must be a theme name (letters, digits, '.', '_' or '-')"


def _notify_urls(value: Any) -> str | None:
    if len(value) > 20:
        return "must list at most 20 URLs"
    for url in value:
        # The value is never quoted back: a URL may carry a token.
        if not url or not is_clean(url) or any(ch.isspace() for ch in url) or "://" not in url:
            return "must be Apprise URLs (service://...), without spaces or control characters"
    return None


#: Value rules by key path; every numeric setting has a range.
RULES: dict[str, Callable[[Any], str | None]] = {
    "ui.theme": _theme_name,
    "ui.idle_lock_minutes": _int_range(0, 1440),
    "checks.concurrency": _int_range(1, 512),
    "checks.timeout_seconds": _float_range(0.5, 300),
    "checks.retries": _int_range(0, 10),
    "checks.stale_after_hours": _int_range(1, 8760),
    "checks.max_rate_wait_seconds": _float_range(0, 3600),
    "rotation.max_key_age_days": _int_range(1, 3650),
    "rotation.expiry_warning_days": _int_range(0, 365),
    "rotation.delete_grace_seconds": _int_range(0, 7 * 86400),
    "vault.unlock": _one_of(*UNLOCK_MODES),
    "vault.kdf": _one_of(*KDF_NAMES),
    # The floor is the CLI's minimum strength (m=64 MiB, t=3); the caps match the vault's.
    "vault.argon2_memory_mib": _int_range(64, 1024),
    "vault.argon2_iterations": _int_range(3, 10),
    "vault.argon2_lanes": _int_range(1, 16),
    "vault.scrypt_log_n": _int_range(16, 19),
    "vault.backups": _int_range(0, 10),
    "vault.keyring_timeout_seconds": _float_range(0.5, 60),
    "kucoin.api_url": api_url_problem,
    "store.kind": _one_of(*STORE_KINDS),
    "store.addr": _store_addr,
    "store.mount": _kv_path,
    "store.prefix": _kv_path,
    "store.lease_seconds": _int_range(10, 86400),
    "notify.urls": _notify_urls,
}


_WANTED: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "str": ("a string", lambda v: isinstance(v, str)),
    "tuple[str, ...]": (
        "an array of strings",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
}


def _type_problem(value: Any, kind: Any) -> str | None:
    """``kind`` is the field's annotation: a string under postponed evaluation."""
    from kutui.store.tomlfields import toml_type_name

    want, ok = _WANTED[kind if isinstance(kind, str) else kind.__name__]
    return None if ok(value) else f"must be {want}, not {toml_type_name(value)}"


def _load_section(path: Path, name: str, cls: type, table: Any) -> Any:
    from kutui.store.tomlfields import toml_type_name

    if not isinstance(table, dict):
        raise ConfigError(
            path, f"must be a table ([{name}]), not {toml_type_name(table)}", key=name
        )
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        key_path = f"{name}.{key}"
        if key not in known:
            raise ConfigError(path, "unknown setting", key=key_path)
        problem = _type_problem(value, known[key].type)
        if problem is None and key_path in RULES:
            problem = RULES[key_path](value)
        if problem:
            raise ConfigError(path, problem, key=key_path)
        if known[key].type in ("float", float):
            value = float(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values)


def _load_keymap(path: Path, table: Any) -> dict[str, str]:
    from kutui.store.tomlfields import toml_type_name

    if not isinstance(table, dict):
        raise ConfigError(path, f"must be a table, not {toml_type_name(table)}", key="keymap")
    for key, value in table.items():
        # Shown on the help screen: a control character or escape would reach the terminal.
        if not isinstance(value, str) or not value.strip() or not is_clean(value):
            raise ConfigError(
                path, 'must be a non-empty string of keys, like "ctrl+r"', key=f"keymap.{key}"
            )
    return dict(table)


def parse_config(path: Path, data: bytes) -> Config:
    """Validate config.toml's bytes; ``ConfigError`` names ``path`` and the key path."""
    from kutui.store.tomlfields import parse_toml

    doc = parse_toml(path, data, ConfigError)
    sections: dict[str, Any] = {}
    keymap: dict[str, str] = {}
    for key, value in doc.items():
        if key in SECTIONS:
            sections[key] = _load_section(path, key, SECTIONS[key], value)
        elif key == "keymap":
            keymap = _load_keymap(path, value)
        else:
            raise ConfigError(path, "unknown section or setting", key=key)
    config = Config(**sections, keymap=keymap)
    _check_kdf_cost(path, config)
    return config


def _check_kdf_cost(path: Path, config: Config) -> None:
    """Each setting may be in range while memory x passes is not: the vault's read cap decides
    (``kutui.store.kdf.cap_problem``), so kutui never creates a vault it then refuses to open."""
    from kutui.store.kdf import KdfParams, cap_problem

    vault = config.vault
    params = KdfParams(
        memory_kib=vault.argon2_memory_mib * 1024,
        iterations=vault.argon2_iterations,
        lanes=vault.argon2_lanes,
    )
    problem = cap_problem(params)
    if problem:
        raise ConfigError(path, problem, key="vault.argon2_iterations")
    if config.store.kind == "openbao" and not config.store.addr:
        raise ConfigError(path, 'is needed when store.kind is "openbao"', key="store.addr")
    if bool(config.store.role_id) != bool(config.store.secret_id_file):
        raise ConfigError(
            path, "AppRole needs both role_id and secret_id_file", key="store.role_id"
        )


def load_config(path: Path) -> Config:
    """Read config.toml; a missing file gives the defaults."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot be read ({exc.strerror})") from None
    return parse_config(path, data)


STORE_KEYS = tuple(f.name for f in fields(StoreConfig))


def with_store(path: Path, text: str, values: dict[str, Any]) -> bytes:
    """config.toml's text with ``[store]`` set to ``values`` (``kutui migrate`` switches the
    store: the one change kutui makes to this file). Other sections, comments and the
    commented-out examples are kept; the result is validated before it is returned."""
    import tomli_w

    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[store]"), None)
    block = tomli_w.dumps(values).splitlines()
    if start is None:
        lines += ["", "[store]", *block]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
            len(lines),
        )
        keep = [
            line
            for line in lines[start + 1 : end]
            if not re.match(rf"\s*({'|'.join(STORE_KEYS)})\s*=", line)
        ]
        lines = [*lines[: start + 1], *block, *keep, *lines[end:]]
    data = ("\n".join(lines) + "\n").encode()
    parse_config(path, data)
    return data
