"""state.toml ⇄ ``AppState``: small things the app remembers between runs (never secrets).

``theme``, ``vault_generation`` (the highest vault generation seen, for the rollback warning)
and ``adding`` (ids of keys ``Home.add_credentials`` is adding: an unlock after a crash adopts
them) are typed; ``[extra]`` holds whatever other layers want to remember (TOML values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kutui.errors import RegistryError
from kutui.store.tomlfields import Table, drop_none, parse_toml

SCHEMA_VERSION = 1


@dataclass
class AppState:
    """state.toml: small things the app remembers (never secrets)."""

    theme: str = ""
    vault_generation: int = 0
    adding: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)


def parse_state(path: Path, data: bytes) -> AppState:
    doc = Table(parse_toml(path, data, RegistryError), path=path, where="", error=RegistryError)
    version = doc.integer("schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        doc.fail("schema_version", f"is {version}: this file was written by a newer kutui")
    extra = doc.table("extra")
    state = AppState(
        theme=doc.text("theme", ""),
        vault_generation=doc.integer("vault_generation", 0, lo=0),
        adding=doc.texts("adding") if doc.has("adding") else (),
        extra=dict(extra.data) if extra is not None else {},
    )
    doc.finish()
    return state


def read_state(path: Path) -> AppState:
    from kutui.store.files import read_private

    try:
        data = read_private(path)
    except FileNotFoundError:
        return AppState()
    except OSError as exc:  # EACCES, EISDIR, EIO: the user's to fix, not a kutui bug
        raise RegistryError(path, f"cannot be read ({exc.strerror or exc})") from None
    return parse_state(path, data)


def dump_state(state: AppState) -> bytes:
    import tomli_w

    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "theme": state.theme,
        "vault_generation": state.vault_generation,
        "adding": list(state.adding) or None,
        "extra": dict(state.extra),
    }
    try:
        return tomli_w.dumps(drop_none(doc)).encode("utf-8")
    except TypeError as exc:  # a value in extra that TOML cannot hold: a programming error
        raise TypeError(f"state.toml cannot hold this value: {exc}") from None


def write_state(path: Path, state: AppState) -> None:
    """Write atomically; the caller holds ``locked(path)``."""
    from kutui.store.files import atomic_write

    atomic_write(path, dump_state(state))
