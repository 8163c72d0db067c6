"""CONTRACT STUB — the checks helper replaces the bodies; signatures are fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from kutui.kucoin.client import ClientPool
from kutui.model import CheckResult, KeyRef
from kutui.store.vault import Credential


@dataclass(frozen=True)
class CheckTarget:
    key_id: str
    ref: KeyRef
    api_url: str
    credential: Credential | None  # None: no secret stored -> reported, not sent
    pool_hint: str = ""  # rate-budget pool (uid if known, else ACCOUNT/SUB)


@dataclass(frozen=True)
class CheckEvent:
    """One finished check, streamed as soon as it completes."""

    target: CheckTarget
    result: CheckResult
    done: int
    total: int


async def run_checks(
    targets: Sequence[CheckTarget],
    *,
    pool: ClientPool,
    concurrency: int = 64,
    timeout: float = 10.0,
    retries: int = 1,
    max_rate_wait: float = 60.0,
) -> AsyncIterator[CheckEvent]:
    """Check every target; yields events as they complete. Cancel by closing the iterator."""
    raise NotImplementedError
    yield  # pragma: no cover
