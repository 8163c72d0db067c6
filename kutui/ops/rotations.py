"""Rotations: start, resume and abort one key's rotation; list the open ones and each key's.

The steps themselves run in ``kutui.rotation.session.Session`` (the checklist is saved after every
transition); this module finds the key, builds the session's context from a home, an open vault
and a client pool, and holds the per-key lock rule (one rotation of a key at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from kutui.errors import KutuiError
from kutui.ops.change import Change
from kutui.rotation import session as rs
from kutui.rotation.checklist import Checklist
from kutui.rotation.store import RotationStore

if TYPE_CHECKING:
    from kutui.kucoin.client import ClientPool
    from kutui.store.home import Home
    from kutui.store.vault import Vault

Mode = Literal["start", "resume", "either"]
VERIFY_DELAYS = (1.0, 2.0, 4.0, 8.0)


def store_for(home: Home) -> RotationStore:
    return RotationStore(home.paths.rotations_dir)


@contextmanager
def key_lock(home: Home, key_id: str) -> Iterator[None]:
    """Held while a front end drives one key's rotation: a second kutui waits or is refused."""
    with store_for(home).key_lock(key_id):
        yield


def open_session(
    home: Home,
    vault: Vault,
    pool: ClientPool,
    ref_or_id: str,
    *,
    mode: Mode = "either",
    ip_whitelist: str | None = None,
    rotation_id: str | None = None,
    now: Callable[[], datetime] | None = None,
    verify_delays: tuple[float, ...] = VERIFY_DELAYS,
    on_save: Callable[[str], None] | None = None,
) -> rs.Session:
    """The session of the key's rotation: a new one (``start``, refused while one is open), the
    open one (``resume``, refused when none is), or whichever applies (``either``)."""
    store = store_for(home)
    key = rs.find_key(home, ref_or_id)
    ctx = rs.context_for(home, store, vault, pool, key, verify_delays=verify_delays)
    if now is not None:
        ctx.now = now
    if on_save is not None:
        ctx.on_save = on_save
    if mode == "resume" or (mode == "either" and store.open_for_key(key.id) is not None):
        session = rs.resume(ctx, key.id)
        if ip_whitelist is not None:
            session.set_ip_whitelist(ip_whitelist)
        return session
    return rs.start(ctx, key, ip_whitelist=ip_whitelist, rotation_id=rotation_id)


async def abort(session: rs.Session, reason: str) -> Change:
    """Abort the rotation: the old key stays current, a new key (if created) is deleted."""
    summary = await session.abort(reason)
    return Change(f"rotation {session.checklist.id} aborted: {summary}")


def open_rotations(home: Home) -> list[Checklist]:
    return store_for(home).list_open()


def rotations_by_key(home: Home) -> dict[str, list[Checklist]]:
    """Every readable rotation checklist, grouped by key, oldest first (a damaged file is
    skipped here: the rotation screen and ``kutui rotate`` report it where it matters)."""
    store = store_for(home)
    grouped: dict[str, list[Checklist]] = {}
    directory = home.paths.rotations_dir
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
        try:
            checklist = store.load_path(path)
        except KutuiError:
            continue
        grouped.setdefault(checklist.key_id, []).append(checklist)
    return grouped
