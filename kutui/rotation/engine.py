"""The rotation state machine: run the current step, record every transition, resume anywhere.

Every step handler first looks at local (vault) and remote (KuCoin) state and either finds its work
already done or does it; the checklist is saved after every transition (``running`` before an
action, ``done``/``failed`` after), so a crash at any point resumes by re-running the step that was
in flight. The handlers live in ``sub_flow`` and ``master_flow``; this module holds the machinery
and the ports the handlers use (``Remote``, ``VaultPort``, ``RegistryPort``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from kutui.errors import KucoinError, RotationError
from kutui.kucoin.client import CreatedKey, KeyInfo
from kutui.model import (
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
from kutui.rotation.checklist import Checklist, State, Step, StepKind, StepStatus
from kutui.rotation.store import RotationStore
from kutui.secret import Secret
from kutui.store.vault import VaultData

T = TypeVar("T")

INVALID_KEY_CODE = "400003"


# --------------------------------------------------------------------------- ports


class Remote(Protocol):
    """The part of ``KucoinClient`` a rotation uses (a test may hand in anything shaped so)."""

    async def api_key_info(self, cred: Credential) -> KeyInfo: ...

    async def sub_api_keys(
        self, cred: Credential, sub_name: str, api_key: str | None = None
    ) -> list[KeyInfo]: ...

    async def create_sub_api_key(
        self,
        cred: Credential,
        *,
        sub_name: str,
        passphrase: Secret,
        remark: str,
        permission: str = "General",
        ip_whitelist: str = "",
        expire: int = -1,
    ) -> CreatedKey: ...

    async def delete_sub_api_key(
        self, cred: Credential, *, sub_name: str, api_key: str, passphrase: Secret
    ) -> None: ...


class VaultPort(Protocol):
    @property
    def data(self) -> VaultData: ...

    def update(self, fn: Callable[[VaultData], T]) -> T: ...


class RegistryPort(Protocol):
    def registry(self) -> Registry: ...

    def update_registry(self, fn: Callable[[Registry], T]) -> T: ...


class ConsumerPort(Protocol):
    """A key's consumers and their deliveries (``kutui.store.home.Home``)."""

    def consumers(self, key_id: str | None = None) -> list[Consumer]: ...

    def record_delivery(self, key_id: str, name: str, delivery: Delivery) -> bool: ...


def consumers_for(port: ConsumerPort | None, key: ApiKey) -> list[Consumer]:
    """The key's consumers: its records, then the names its note lists that are not records
    (a home filled after the notes became consumers), as manual consumers. The one rule for
    rotations, ``kutui consumer list`` and the TUI."""
    records = port.consumers(key.id) if port is not None else []
    names = {c.name for c in records}
    from_note = [
        Consumer(key.id, name, ConsumerKind.MANUAL)
        for name in dict.fromkeys(key.note.consumers)
        if name not in names
        and consumer_problem(Consumer(key.id, name, ConsumerKind.MANUAL)) is None
    ]
    return [*records, *from_note]


# --------------------------------------------------------------------------- step outcomes


class StepFailed(Exception):
    """The step could not complete; ``note`` tells the user why and what to do. It stays open."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


class Blocked(StepFailed):
    """The step cannot run until something outside the rotation is fixed (the account's master
    key): recorded as the step's failure, then raised to the front end as a ``RotationError``
    (one line, exit 2), since resuming changes nothing until then."""

    def __init__(self, note: str, *, hint: str = "") -> None:
        super().__init__(note)
        self.hint = hint


class NeedsInput(Exception):
    """A manual step waits for the user (a confirmation, a consumer tick or new credentials)."""

    def __init__(self, prompt: str) -> None:
        super().__init__(prompt)
        self.prompt = prompt


@dataclass(frozen=True)
class ManualInput:
    """What the user gives a manual step. Credentials travel as ``Secret`` only."""

    confirm: bool = False
    consumer: str = ""  # tick this consumer (switch-consumers)
    api_key: Secret | None = None
    api_secret: Secret | None = None
    passphrase: Secret | None = None

    @property
    def has_credentials(self) -> bool:
        return (
            self.api_key is not None and self.api_secret is not None and self.passphrase is not None
        )


Handler = Callable[["Engine", Step, "ManualInput | None"], Awaitable[str]]


@dataclass
class Context:
    """Everything a rotation touches; ``master`` gives the account's master key (sub flow)."""

    store: RotationStore
    vault: VaultPort
    registry: RegistryPort
    remote: Remote
    master: Callable[[], Credential | None] = lambda: None
    #: Waits between key-info attempts while a new key's IP whitelist propagates.
    verify_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    #: Called after every save with ``"<step>:<status>"``; tests crash the run here.
    on_save: Callable[[str], None] | None = None
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    #: Times written to the checklist (tests freeze it).
    now: Callable[[], datetime] = now_utc
    #: The key's consumers and where their deliveries are recorded (None: the note's names only,
    #: all manual).
    consumers: ConsumerPort | None = None
    #: Seconds between promoting the new key and deleting the old one (config.toml,
    #: ``[rotation] delete_grace_seconds``): consumers that re-read slowly still hold a live key.
    delete_grace: float = 0.0


# --------------------------------------------------------------------------- helpers used by flows


def fingerprint_of(cred: Credential | None) -> str:
    return cred.api_key.reveal()[-4:] if cred is not None and cred.api_key else ""


def is_full(cred: Credential | None) -> bool:
    """A credential with key and secret (not the plan's passphrase-only placeholder)."""
    return cred is not None and bool(cred.api_key) and bool(cred.api_secret)


async def key_is_dead(remote: Remote, cred: Credential) -> bool:
    """True when KuCoin says the key does not exist (400003); False when it answers for it."""
    try:
        await remote.api_key_info(cred)
    except KucoinError as exc:
        if exc.code == INVALID_KEY_CODE:
            return True
        raise
    return False


def describe(exc: KucoinError) -> str:
    # The client's messages usually name the code already; add it only when they do not.
    code = f" ({exc.code})" if exc.code and exc.code not in exc.message else ""
    return f"{exc.message}{code}"


# --------------------------------------------------------------------------- the engine


class Engine:
    """Drives one checklist. Not thread-safe; one engine per rotation per process."""

    def __init__(self, checklist: Checklist, ctx: Context, handlers: dict[str, Handler]) -> None:
        self.checklist = checklist
        self.ctx = ctx
        self.handlers = handlers
        missing = [s.id for s in checklist.steps if s.id not in handlers]
        if missing:
            raise RotationError(f"no handler for steps {', '.join(missing)}")

    # ---- persistence

    def save(self, label: str) -> None:
        self.checklist.updated_at = self.ctx.now()
        self.ctx.store.save(self.checklist)
        if self.ctx.on_save is not None:
            self.ctx.on_save(label)

    def _begin(self, step: Step) -> None:
        step.status = StepStatus.RUNNING
        if step.started_at is None:
            step.started_at = self.ctx.now()
        step.note = ""
        self.checklist.awaiting = ""
        self.save(f"{step.id}:running")

    def _finish(self, step: Step, evidence: str, status: StepStatus = StepStatus.DONE) -> None:
        self.checklist.awaiting = ""
        step.status = status
        step.done_at = self.ctx.now()
        if step.started_at is None:
            step.started_at = step.done_at
        step.evidence = evidence
        self.checklist.refresh_current()
        self.save(f"{step.id}:{status}")

    def _fail(self, step: Step, note: str) -> None:
        self.checklist.awaiting = ""
        step.status = StepStatus.FAILED
        step.note = note
        self.save(f"{step.id}:failed")

    # ---- reading

    @property
    def key_id(self) -> str:
        return self.checklist.key_id

    def slot(self, slot: Slot) -> Credential | None:
        return self.ctx.vault.data.get(self.key_id, slot)

    def require_open(self) -> None:
        if not self.checklist.is_open:
            raise RotationError(f"rotation {self.checklist.id} is {self.checklist.state}")

    # ---- running

    async def run_current(self, inputs: ManualInput | None = None) -> Step | None:
        """Run the current step once. Returns it (done, failed, or still waiting for input)."""
        self.require_open()
        step = self.checklist.current_step()
        if step is None:
            self.checklist.refresh_current()
            self.save("finished")
            return None
        if step.kind is StepKind.MANUAL and inputs is None:
            # Ask the handler whether it can complete without input (e.g. done before a crash);
            # nothing is marked running, since nothing is started on the user's behalf.
            if step.status is StepStatus.RUNNING:
                step.status = StepStatus.PENDING
        else:
            self._begin(step)
        try:
            evidence = await self.handlers[step.id](self, step, inputs)
        except NeedsInput as wait:
            step.note = wait.prompt
            if step.kind is StepKind.AUTOMATIC:
                self.checklist.awaiting = step.id  # a confirmation, asked by the front end
            if step.status is StepStatus.RUNNING:
                step.status = StepStatus.PENDING
                self.save(f"{step.id}:pending")
            return step
        except StepFailed as failed:
            if not isinstance(failed, Blocked):
                self._fail(step, failed.note)
                return step
            blocked = RotationError(failed.note, hint=failed.hint)
            self._fail(step, str(blocked))
            raise blocked from None
        except KucoinError as exc:
            self._fail(step, describe(exc))
            return step
        self._finish(step, evidence)
        return step

    async def run_automatic(self) -> Step | None:
        """Run steps until a manual step needs the user, a step fails, or the rotation ends.

        Returns the step it stopped at (``None`` when the rotation is finished).
        """
        while self.checklist.is_open:
            step = self.checklist.current_step()
            if step is None:
                self.checklist.refresh_current()
                self.save("finished")
                return None
            result = await self.run_current()
            if result is None:
                return None
            if not result.status.closed:
                return result
        return None

    def waiting_prompt(self) -> str:
        step = self.checklist.current_step()
        return step.note if step is not None else ""

    def skip(self, step_id: str, reason: str, skippable: frozenset[str]) -> None:
        self.require_open()
        step = self.checklist.step(step_id)
        if step_id not in skippable:
            raise RotationError(
                f"step {step_id!r} cannot be skipped",
                hint="it protects the rule that a working key is always stored",
            )
        if not reason.strip():
            raise RotationError("skipping a step needs a reason")
        step.note = f"skipped: {reason.strip()}"
        self._finish(step, "", StepStatus.SKIPPED)

    def mark_aborted(self, reason: str) -> None:
        self.checklist.state = State.ABORTED
        self.checklist.abort_reason = reason
        self.checklist.current = ""
        self.save("aborted")
