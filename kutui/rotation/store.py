"""``rotations/<id>.toml``: one checklist per file, written atomically, read strictly.

Nothing secret is ever written here. A file that cannot be trusted (bad TOML, an unknown step or
field, a schema from a newer kutui) raises ``ChecklistError`` naming the file and the key, and is
never overwritten: a rotation in flight must not lose its record because of a parse problem.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tomllib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from kutui.errors import ChecklistError, RotationError, UsageError
from kutui.model import ApiKey
from kutui.rotation.checklist import (
    BROKEN_KEY_CODES,
    SCHEMA_VERSION,
    STEP_IDS,
    Checklist,
    Flow,
    State,
    Step,
    StepKind,
    StepStatus,
    valid_rotation_id,
)
from kutui.store.files import (
    FILE_MODE,
    atomic_write,
    ensure_private_dir,
    locked,
    read_private,
)
from kutui.store.openbao.lease import Lease
from kutui.store.openbao.store import SharedStore
from kutui.text import clean_text

_STEP_FIELDS = {
    "id",
    "title",
    "kind",
    "instructions",
    "status",
    "started_at",
    "done_at",
    "evidence",
    "note",
}
_TOP_FIELDS = {
    "schema_version",
    "id",
    "key_id",
    "key_ref",
    "flow",
    "state",
    "created_at",
    "updated_at",
    "current",
    "sub_name",
    "uid",
    "permissions",
    "ip_whitelist",
    "expire_days",
    "old_fingerprint",
    "new_fingerprint",
    "consumers",
    "consumers_switched",
    "abort_reason",
    "permissions_dropped",
    "delete_confirmed",
    "old_key_broken",
    "steps",
}


# --------------------------------------------------------------------------- encoding


def to_toml(checklist: Checklist) -> bytes:
    doc: dict[str, Any] = {
        "schema_version": checklist.schema_version,
        "id": checklist.id,
        "key_id": checklist.key_id,
        "key_ref": checklist.key_ref,
        "flow": str(checklist.flow),
        "state": str(checklist.state),
        "created_at": checklist.created_at,
        "updated_at": checklist.updated_at,
        "current": checklist.current,
        "sub_name": checklist.sub_name,
        "permissions": list(checklist.permissions),
        "ip_whitelist": checklist.ip_whitelist,
        "expire_days": checklist.expire_days,
        "old_fingerprint": checklist.old_fingerprint,
        "new_fingerprint": checklist.new_fingerprint,
        "consumers": list(checklist.consumers),
        "consumers_switched": list(checklist.consumers_switched),
        "abort_reason": checklist.abort_reason,
        "permissions_dropped": list(checklist.permissions_dropped),
        "delete_confirmed": checklist.delete_confirmed,
    }
    if checklist.uid is not None:
        doc["uid"] = checklist.uid
    if checklist.old_key_broken:  # only then: files of rotations of working keys stay as they were
        doc["old_key_broken"] = checklist.old_key_broken
    steps: list[dict[str, Any]] = []
    for step in checklist.steps:
        row: dict[str, Any] = {
            "id": step.id,
            "title": step.title,
            "kind": str(step.kind),
            "status": str(step.status),
            "instructions": step.instructions,
            "evidence": step.evidence,
            "note": step.note,
        }
        if step.started_at is not None:
            row["started_at"] = step.started_at
        if step.done_at is not None:
            row["done_at"] = step.done_at
        steps.append(row)
    doc["steps"] = steps
    return tomli_w.dumps(doc, multiline_strings=True).encode()


# --------------------------------------------------------------------------- decoding


class _Reader:
    """Typed access to one TOML table; every problem names the file and the key path."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        self.path = path
        self.table = table
        self.prefix = prefix
        for key in table:
            if key not in allowed:
                raise ChecklistError(path, "unknown field", key=self.where(key))

    def where(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any, required: bool) -> Any:
        if key not in self.table:
            if required:
                raise ChecklistError(self.path, "is missing", key=self.where(key))
            return default
        value = self.table[key]
        if isinstance(value, bool) and kind is int:
            raise ChecklistError(self.path, "must be an integer", key=self.where(key))
        if not isinstance(value, kind):
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ChecklistError(
                self.path, f"must be {name}, not {type(value).__name__}", key=self.where(key)
            )
        return value

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        # The file may have been edited by hand; what it says reaches the screen (kutui/text.py).
        value: str = self._get(key, str, default, required)
        return clean_text(value, multiline=True)

    def integer(
        self, key: str, default: int | None = None, *, required: bool = False
    ) -> int | None:
        value: int | None = self._get(key, int, default, required)
        return value

    def when(self, key: str, *, required: bool = False) -> datetime | None:
        value: datetime | None = self._get(key, datetime, None, required)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value: list[Any] = self._get(key, list, [], False)
        if not all(isinstance(v, str) for v in value):
            raise ChecklistError(self.path, "must be a list of strings", key=self.where(key))
        return tuple(clean_text(v) for v in value)

    def choice(self, key: str, enum: type[Any], *, required: bool = True) -> Any:
        raw = self.text(key, required=required)
        try:
            return enum(raw)
        except ValueError:
            allowed = ", ".join(str(m) for m in enum)
            raise ChecklistError(
                self.path, f"{raw!r} is not one of {allowed}", key=self.where(key)
            ) from None


def from_toml(path: Path, data: bytes) -> Checklist:
    try:
        doc = tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))  # BOM: a Windows editor
    except UnicodeDecodeError as exc:
        raise ChecklistError(path, f"is not UTF-8 text (byte {exc.start})") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # Recursion: ~1000 nested "["
        raise ChecklistError(path, f"is not valid TOML: {exc}") from None
    # Check the version before anything else: a newer file may legitimately hold new fields.
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ChecklistError(path, "is missing or not an integer", key="schema_version")
    if version > SCHEMA_VERSION:
        raise ChecklistError(
            path,
            f"is {version}, written by a newer kutui (this one reads up to {SCHEMA_VERSION})",
            key="schema_version",
            hint="upgrade kutui to resume this rotation",
        )
    if version < 1:
        raise ChecklistError(path, f"is {version}; it must be 1 or more", key="schema_version")
    top = _Reader(path, doc, "", _TOP_FIELDS)
    flow: Flow = top.choice("flow", Flow)
    rotation_id = top.text("id", required=True)
    if not valid_rotation_id(rotation_id):
        raise ChecklistError(path, f"{rotation_id!r} is not a rotation id", key="id")
    raw_steps = top._get("steps", list, [], True)
    known = STEP_IDS[flow]
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        prefix = f"steps[{index}]."
        if not isinstance(raw, dict):
            raise ChecklistError(path, "must be a table", key=f"steps[{index}]")
        row = _Reader(path, raw, prefix, _STEP_FIELDS)
        step_id = row.text("id", required=True)
        if step_id not in known:
            raise ChecklistError(
                path,
                f"unknown step {step_id!r} for a {flow} rotation",
                key=f"{prefix}id",
                hint=f"known steps: {', '.join(known)}",
            )
        steps.append(
            Step(
                id=step_id,
                title=row.text("title", required=True),
                kind=row.choice("kind", StepKind),
                instructions=row.text("instructions"),
                status=row.choice("status", StepStatus),
                started_at=row.when("started_at"),
                done_at=row.when("done_at"),
                evidence=row.text("evidence"),
                note=row.text("note"),
            )
        )
    ids = [s.id for s in steps]
    if tuple(ids) != known:
        raise ChecklistError(
            path,
            f"steps are {', '.join(ids) or 'empty'}; a {flow} rotation has {', '.join(known)}",
            key="steps",
        )
    current = top.text("current")
    if current and current not in known:
        raise ChecklistError(path, f"unknown step {current!r}", key="current")
    created = top.when("created_at", required=True)
    updated = top.when("updated_at", required=True)
    if created is None or updated is None:  # pragma: no cover - required=True raised already
        raise ChecklistError(path, "is missing", key="created_at")
    expire = top.integer("expire_days", -1)
    broken = top.text("old_key_broken")
    if broken and broken not in BROKEN_KEY_CODES:
        raise ChecklistError(
            path,
            f"{broken!r} is not one of {', '.join(BROKEN_KEY_CODES)}",
            key="old_key_broken",
        )
    return Checklist(
        id=rotation_id,
        key_id=top.text("key_id", required=True),
        key_ref=top.text("key_ref", required=True),
        flow=flow,
        steps=steps,
        schema_version=version,
        state=top.choice("state", State),
        created_at=created,
        updated_at=updated,
        current=current,
        sub_name=top.text("sub_name"),
        uid=top.integer("uid"),
        permissions=top.texts("permissions"),
        ip_whitelist=top.text("ip_whitelist"),
        expire_days=-1 if expire is None else expire,
        old_fingerprint=top.text("old_fingerprint"),
        new_fingerprint=top.text("new_fingerprint"),
        consumers=top.texts("consumers"),
        consumers_switched=top.texts("consumers_switched"),
        abort_reason=top.text("abort_reason"),
        permissions_dropped=top.texts("permissions_dropped"),
        delete_confirmed=bool(top._get("delete_confirmed", bool, False, False)),
        old_key_broken=broken,
    )


# --------------------------------------------------------------------------- the store


class RotationStore:
    """The ``rotations/`` directory; for a home on OpenBao, the shared checklists and leases
    (``kutui.store.openbao``: another operator sees and resumes them)."""

    def __init__(self, directory: Path) -> None:
        from kutui.store.openbao.store import for_rotations_dir

        self.directory = directory
        self.shared = for_rotations_dir(str(directory))
        self._leases: dict[str, Lease] = {}

    def path_for(self, rotation_id: str) -> Path:
        if not valid_rotation_id(rotation_id):
            raise RotationError(f"{rotation_id!r} is not a rotation id")
        return self.directory / f"{rotation_id}.toml"

    def load(self, rotation_id: str) -> Checklist:
        if self.shared is not None:
            return self._load_shared(self.path_for(rotation_id))
        return self.load_path(self.path_for(rotation_id))

    def _shared_store(self) -> SharedStore:
        if self.shared is None:
            raise RotationError("this home keeps its rotations in files, not on OpenBao")
        return self.shared

    def _load_shared(self, path: Path) -> Checklist:
        """``path`` names the checklist in messages (``rotations/<id>.toml`` on the server)."""
        found = self._shared_store().read_rotation(path.stem)
        if found is None:
            raise ChecklistError(path, "does not exist")
        checklist = from_toml(path, found[0].encode())
        if path.stem != checklist.id:
            raise ChecklistError(
                path, f"holds rotation {checklist.id!r}, not {path.stem!r}", key="id"
            )
        return checklist

    def _shared_path(self, rotation_id: str) -> Path:
        settings = self._shared_store().settings
        self.path_for(rotation_id)  # the id's own check
        return Path(f"openbao:{settings.mount}/{settings.prefix}/_kutui/rotations/{rotation_id}")

    def load_path(self, path: Path) -> Checklist:
        try:
            data = read_private(path)
        except FileNotFoundError:
            raise ChecklistError(path, "does not exist") from None
        checklist = from_toml(path, data)
        if path.stem != checklist.id:
            raise ChecklistError(
                path, f"holds rotation {checklist.id!r}, not {path.stem!r}", key="id"
            )
        return checklist

    def save(self, checklist: Checklist) -> None:
        """Write the checklist atomically under the file's lock.

        An existing file that does not parse is left alone (``ChecklistError``): it may be the
        only record of a rotation a newer kutui is running.
        """
        if self.shared is not None:
            self._save_shared(checklist)
            return
        path = self.path_for(checklist.id)
        ensure_private_dir(self.directory)
        with locked(path):
            if path.exists():
                existing = from_toml(path, read_private(path))
                if existing.key_id != checklist.key_id:
                    raise ChecklistError(path, "belongs to another key", key="key_id")
            atomic_write(path, to_toml(checklist))

    def _save_shared(self, checklist: Checklist) -> None:
        shared = self._shared_store()
        lease = self._leases.get(checklist.key_id)
        if lease is not None:
            lease.renew()  # a host that lost its lease stops before it writes
        path = self._shared_path(checklist.id)

        def text(old: str | None) -> str:
            if old is not None:
                existing = from_toml(path, old.encode())
                if existing.key_id != checklist.key_id:
                    raise ChecklistError(path, "belongs to another key", key="key_id")
            return to_toml(checklist).decode()

        shared.write_rotation(checklist.id, text, checklist.key_id)

    def all(self) -> list[Checklist]:
        """Every readable checklist, oldest first; unreadable files raise."""
        if self.shared is not None:
            return [
                self._load_shared(self._shared_path(rid))
                for rid in self.shared.rotation_ids()
                if valid_rotation_id(rid)
            ]
        if not self.directory.is_dir():
            return []
        return [self.load_path(p) for p in sorted(self.directory.glob("*.toml"))]

    def list_open(self) -> list[Checklist]:
        return [c for c in self.all() if c.is_open]

    def for_key(self, key_id: str) -> list[Checklist]:
        """Every rotation of one key (the key's history), oldest first."""
        return [c for c in self.all() if c.key_id == key_id]

    def open_for_key(self, key_id: str) -> Checklist | None:
        return next((c for c in self.list_open() if c.key_id == key_id), None)

    @contextlib.contextmanager
    def key_lock(self, key_id: str) -> Iterator[None]:
        """Held while a process works on a key's rotation; a second one is refused at once
        (on OpenBao: the key's lease, held by one host until it ends or expires)."""
        if self.shared is not None:
            lease = self.shared.lease(key_id)
            lease.acquire()
            self._leases[key_id] = lease
            try:
                yield
            finally:
                self._leases.pop(key_id, None)
                lease.release()
            return
        ensure_private_dir(self.directory)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key_id)
        lock_path = self.directory / f"key-{safe}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RotationError(
                    "another kutui process is rotating this key right now",
                    hint=f"lock file {lock_path}",
                ) from None
            yield
        finally:
            os.close(fd)


def refuse_open_rotation(rotations_dir: Path, keys: Iterable[ApiKey]) -> None:
    """Removing a key mid-rotation would delete its PENDING credential (a new KuCoin key whose
    secret is shown only once) and strand the checklist: the rotation must end first."""
    store = RotationStore(rotations_dir)
    for key in keys:
        checklist = store.open_for_key(key.id)
        if checklist is not None:
            raise UsageError(
                f"{key.ref} has an open rotation ({checklist.id}); nothing was removed",
                hint=f"finish it, or run 'kutui rotate {key.ref} --abort' first",
            )
