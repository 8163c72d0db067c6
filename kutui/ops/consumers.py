"""A key's consumers: add, list, remove, deliver the current key, show a slot's credentials.

The CLI (``kutui consumer``, ``kutui deliver``, ``kutui key show``) and the TUI call these; the
rules (what a consumer may be, which credential goes where) live here and in ``kutui.model`` /
``kutui.consumers``, once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kutui.consumers.deliver import deliver_recorded
from kutui.errors import KeyNotFound, RotationError, UsageError
from kutui.model import (
    DEFAULT_ENV_PREFIX,
    ApiKey,
    Consumer,
    ConsumerKind,
    Credential,
    Delivery,
    Registry,
    Slot,
    consumer_problem,
    now_utc,
)
from kutui.rotation.engine import consumers_for
from kutui.rotation.session import find_key
from kutui.rotation.store import RotationStore

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.vault import Vault


def consumers_of(home: Home, key: ApiKey) -> list[Consumer]:
    """The key's consumers (``kutui.rotation.engine.consumers_for``: records, then the note's
    names as manual consumers)."""
    return consumers_for(home, key)


def add_consumer(
    home: Home,
    ref: str,
    *,
    name: str,
    kind: str,
    path: str = "",
    user: str = "",
    reload: str = "",
    command: str = "",
    env_prefix: str = DEFAULT_ENV_PREFIX,
) -> Consumer:
    key = find_key(home, ref)
    try:
        consumer_kind = ConsumerKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ConsumerKind)
        raise UsageError(f"{kind!r} is not a consumer kind (one of {kinds})") from None
    if path and not consumer_kind.is_file:
        raise UsageError(f"--path is for file consumers, not {consumer_kind}")
    if command and consumer_kind is not ConsumerKind.COMMAND:
        raise UsageError("--command is for command consumers")
    target = os.path.abspath(os.path.expanduser(path)) if path else command
    consumer = Consumer(
        key.id,
        name,
        consumer_kind,
        target=target,
        user=user,
        reload=reload,
        env_prefix=env_prefix or DEFAULT_ENV_PREFIX,
    )
    problem = consumer_problem(consumer)
    if problem:
        raise UsageError(problem + "; nothing was added")
    if any(c.name == name for c in consumers_of(home, key)):
        raise UsageError(
            f"{key.ref} already has a consumer {name!r}",
            hint=f"remove it first: kutui consumer remove {key.ref} {name}",
        )
    home.put_consumer(consumer)
    return consumer


def remove_consumer(home: Home, ref: str, name: str) -> Consumer:
    key = find_key(home, ref)
    found = next((c for c in consumers_of(home, key) if c.name == name), None)
    if found is None:
        raise KeyNotFound(f"{key.ref} has no consumer {name!r}", hint="see 'kutui consumer list'")
    home.remove_consumer(key.id, name)
    if name in key.note.consumers:

        def drop(registry: Registry) -> None:
            held = registry.key_by_id(key.id)
            if held is not None:
                held.note.consumers = tuple(c for c in held.note.consumers if c != name)

        home.update_registry(drop)
    return found


@dataclass(frozen=True)
class Delivered:
    consumer: Consumer
    delivery: Delivery | None  # None: a manual consumer (a person switches it)


def deliver_current(home: Home, vault: Vault, ref: str, name: str | None = None) -> list[Delivered]:
    """Write the key's CURRENT credentials to its automatic consumers (or the one named)."""
    key = find_key(home, ref)
    open_rotation = RotationStore(home.paths.rotations_dir).open_for_key(key.id)
    if open_rotation is not None:
        raise RotationError(
            f"{key.ref} has an open rotation ({open_rotation.id}); it delivers the new key itself",
            hint=f"kutui rotate {key.ref} --resume, or --abort",
        )
    consumers = consumers_of(home, key)
    if name is not None:
        consumers = [c for c in consumers if c.name == name]
        if not consumers:
            raise KeyNotFound(f"{key.ref} has no consumer {name!r}")
    if not consumers:
        raise UsageError(
            f"{key.ref} has no consumers", hint="add one: kutui consumer add REF --name N --kind K"
        )
    cred = vault.data.get(key.id, Slot.CURRENT)
    if cred is None:
        raise UsageError(f"{key.ref} has no stored credentials")
    out: list[Delivered] = []
    for consumer in consumers:
        if not consumer.kind.automatic:
            out.append(Delivered(consumer, None))
            continue
        out.append(Delivered(consumer, deliver_recorded(home, consumer, cred, now_utc)))
    return out


def slot_credential(home: Home, vault: Vault, ref: str, *, pending: bool = False) -> Credential:
    """The key's CURRENT credentials, or (``pending``) the new key of its open rotation."""
    key = find_key(home, ref)
    slot = Slot.PENDING if pending else Slot.CURRENT
    cred = vault.data.get(key.id, slot)
    if cred is None or not cred.api_key:
        if pending:
            raise UsageError(
                f"{key.ref} has no new (PENDING) key",
                hint="a rotation holds one between its create and promote steps",
            )
        raise UsageError(f"{key.ref} has no stored credentials")
    return cred
