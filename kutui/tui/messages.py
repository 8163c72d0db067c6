"""The messages the app's workers post when they finish: one class per kind of result, so the
handlers are typed and nothing is routed by worker name."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kutui.model import Consumer, Registry
from kutui.ops.change import Change
from kutui.rotation.checklist import Checklist
from kutui.store.history import History
from kutui.store.vault import Vault


@dataclass
class RegistryLoaded(Message):
    """A fresh read of the home: registry, history, rotations and consumers."""

    registry: Registry
    history: History
    rotations: dict[str, list[Checklist]]
    consumers: list[Consumer]


@dataclass
class VaultOpened(Message):
    """The vault opened without asking (keyring, credentials file); None: a passphrase is
    needed."""

    vault: Vault | None


@dataclass
class Changed(Message):
    """A use case (``kutui.ops``) succeeded."""

    change: Change


@dataclass
class JobFailed(Message):
    """A job failed; ``title`` names it ("edit", "save results"...), ``error`` is the one line
    shown (redacted)."""

    title: str
    error: str
    reload: bool = False


@dataclass
class ResultsSaved(Message):
    """A batch of check results is in kutui.db (or failed to get there: ``error``)."""

    cost: float
    error: str = ""
