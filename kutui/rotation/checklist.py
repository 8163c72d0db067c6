"""The rotation checklist: steps with status, times and evidence. Plain data, never a secret.

A checklist is what ``rotations/<id>.toml`` holds (``kutui.rotation.store``). Evidence and notes
carry fingerprints (last 4 characters of an API key), permission names, uids and KuCoin codes only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kutui.model import now_utc

SCHEMA_VERSION = 1
#: KuCoin's remark limit is 24 characters; ``kutui-`` plus the id must fit.
REMARK_PREFIX = "kutui-"
REMARK_MAX = 24
#: KuCoin codes with which an old sub-account key may fail its own check and still be rotated:
#: the master key looks it up, creates the new key and deletes the old one (kutui/rotation/
#: sub_flow.py, ``plan_step``). Each with the words the rotation screen and the CLI show.
BROKEN_KEY_CODES: dict[str, str] = {
    "400003": "key does not exist",
    "400004": "invalid passphrase",
    "400005": "invalid signature",
}


class StepKind(StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        return self in (StepStatus.DONE, StepStatus.SKIPPED)


class Flow(StrEnum):
    SUB = "sub"
    MASTER = "master"


class State(StrEnum):
    """The rotation as a whole."""

    OPEN = "open"
    FINISHED = "finished"
    ABORTED = "aborted"


@dataclass
class Step:
    id: str
    title: str
    kind: StepKind
    instructions: str = ""
    status: StepStatus = StepStatus.PENDING
    started_at: datetime | None = None
    done_at: datetime | None = None
    evidence: str = ""
    note: str = ""


@dataclass
class Checklist:
    id: str
    key_id: str
    key_ref: str
    flow: Flow
    steps: list[Step]
    schema_version: int = SCHEMA_VERSION
    state: State = State.OPEN
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)
    current: str = ""  # id of the first step not closed; "" when every step is closed
    # What the plan fixed (none of it secret: fingerprints, names, permission lists, IPs).
    sub_name: str = ""
    uid: int | None = None
    permissions: tuple[str, ...] = ()
    ip_whitelist: str = ""
    expire_days: int = -1
    old_fingerprint: str = ""
    new_fingerprint: str = ""
    consumers: tuple[str, ...] = ()
    consumers_switched: tuple[str, ...] = ()
    abort_reason: str = ""
    #: Permissions the old key has that the new one may lack: the user accepted dropping them.
    permissions_dropped: tuple[str, ...] = ()
    #: The user confirmed deleting the old key (asked before revoke-old, unless --yes).
    delete_confirmed: bool = False
    #: The KuCoin code (a ``BROKEN_KEY_CODES`` key) with which the old key failed its own check at
    #: the plan; "" when it worked. Set, the master key stands in for it until it is deleted.
    old_key_broken: str = ""
    #: The automatic step waiting for a confirmation (not saved: asking again is harmless).
    awaiting: str = ""

    @property
    def broken_summary(self) -> str:
        """One line for the front ends: why the old key is bypassed, or "" when it is not."""
        if not self.old_key_broken:
            return ""
        why = BROKEN_KEY_CODES.get(self.old_key_broken, self.old_key_broken)
        return f"old key fails its own check ({why}); using the master key"

    @property
    def remark(self) -> str:
        return remark_for(self.id)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def current_step(self) -> Step | None:
        return self.step(self.current) if self.current else None

    def refresh_current(self) -> None:
        """Point ``current`` at the first step that is not done or skipped."""
        self.current = next((s.id for s in self.steps if not s.status.closed), "")
        if not self.current and self.state is State.OPEN:
            self.state = State.FINISHED

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def done(self, step_id: str) -> bool:
        return self.step(step_id).status.closed


def new_rotation_id(now: datetime | None = None) -> str:
    """``YYMMDDHHMMSS-xxxx``: sortable, unique enough, and short enough for the remark tag."""
    stamp = (now or now_utc()).strftime("%y%m%d%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def remark_for(rotation_id: str) -> str:
    remark = REMARK_PREFIX + rotation_id
    if len(remark) > REMARK_MAX:
        raise ValueError(f"rotation id {rotation_id!r} makes a remark longer than {REMARK_MAX}")
    return remark


def valid_rotation_id(rotation_id: str) -> bool:
    return (
        0 < len(rotation_id) <= REMARK_MAX - len(REMARK_PREFIX)
        and all(ch.isalnum() or ch == "-" for ch in rotation_id)
        and rotation_id.isascii()
    )


#: Step ids of each flow, in order. A checklist naming any other step is refused on load.
STEP_IDS: dict[Flow, tuple[str, ...]] = {
    Flow.SUB: (
        "plan",
        "create",
        "save-pending",
        "verify-new",
        "switch-consumers",
        "promote",
        "revoke-old",
        "verify-old-dead",
        "purge-previous",
    ),
    Flow.MASTER: (
        "plan",
        "create",
        "verify-new",
        "switch-consumers",
        "promote",
        "revoke-old",
        "verify-old-dead",
        "purge-previous",
    ),
}
