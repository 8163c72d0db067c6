"""The bulk health-check engine: check any set of keys, stream each result as it completes.

One check = ``GET /api/v1/user/api-key`` signed with the key under test (docs/architecture.md, "Key
health"). For a run the engine:

- syncs the clock once per API URL (``GET /api/v1/timestamp``) before the first key of that URL;
  if KuCoin cannot be reached there, every key of that URL is ``unreachable`` without a request;
- bounds the requests in flight over the whole run (``concurrency``);
- paces each Management pool (the key's uid when known, else its ACCOUNT/SUB) with a
  ``BudgetBook``: the first request of an unknown pool learns its quota, the others reserve weight
  and wait for the window to reset rather than collect 429s; a wait longer than
  ``max_rate_wait`` gives up as ``rate_limited`` with the reset shown;
- caps each attempt at ``timeout`` seconds and gives ``unreachable`` keys one more round
  (``retries``) after the others, since an outage is often over a few seconds later;
- yields a ``CheckEvent`` per key as soon as its final result is known (done/total for progress);
  closing or cancelling the iterator cancels every request still running.

A target without a stored credential gets an ``unchecked`` result and no request. No textual here:
the CLI and the TUI both consume the iterator.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from kutui.checks.budget import KEY_INFO_WEIGHT, BudgetBook, RateWaitTooLong, Reservation
from kutui.clock import Clock, current
from kutui.errors import KucoinError
from kutui.kucoin.client import ClientPool, KeyInfo, KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.kucoin.ratelimit import RateLimit
from kutui.model import (
    DEFAULT_API_URL,
    Account,
    ApiKey,
    CheckResult,
    Credential,
    KeyRef,
    Registry,
    Status,
)

#: A key that meets a 429 despite pacing (another process spends the quota) waits and retries.
MAX_RATE_LIMITED_ATTEMPTS = 3
NOT_STORED_MESSAGE = "no secret stored for this key; nothing was sent"


@dataclass(frozen=True)
class CheckTarget:
    key_id: str
    ref: KeyRef
    api_url: str
    credential: Credential | None  # None: no secret stored -> reported, not sent
    pool_hint: str = ""  # rate-budget pool (uid if known, else ACCOUNT/SUB)

    @property
    def pool(self) -> str:
        """The budget pool: per API URL, then uid or ACCOUNT/SUB."""
        return f"{self.api_url}|{self.pool_hint or self.ref.owner}"


@dataclass(frozen=True)
class CheckEvent:
    """One finished check, streamed as soon as it completes."""

    target: CheckTarget
    result: CheckResult
    done: int
    total: int


@dataclass
class RunStats:
    """What a run did, for tests and the benchmark (not shown to users)."""

    requests: int = 0
    rate_limited_answers: int = 0
    budget_waits: int = 0
    clock_syncs: int = 0


class _Engine:
    def __init__(
        self,
        pool: ClientPool,
        concurrency: int,
        timeout: float,
        max_rate_wait: float,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.timeout = timeout
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.budgets = BudgetBook(max_wait=max_rate_wait)
        self.clock_syncs: dict[str, asyncio.Task[str | None]] = {}
        self.stats = RunStats()

    # ------------------------------------------------------------------ clock
    def forget_failed_syncs(self) -> None:
        """Before a retry round: URLs whose clock sync failed get another try."""
        for url, task in list(self.clock_syncs.items()):
            if not task.done() or task.cancelled() or task.result() is not None:
                self.clock_syncs.pop(url)

    async def _sync(self, client: KucoinClient) -> str | None:
        """Sync one URL's clock; the failure message, or None when it worked."""
        self.stats.clock_syncs += 1
        try:
            async with asyncio.timeout(self.timeout):
                await client.sync_clock()
        except KucoinError as err:
            # The bare cause ("ConnectError: ..."): the report adds the status's explanation.
            cause = getattr(err, "kucoin_message", "") or err.message
            return f"could not read KuCoin's clock: {cause}"
        except TimeoutError:
            return f"could not read KuCoin's clock: no answer within {self.timeout:g} s"
        return None

    async def clock_problem(self, api_url: str) -> str | None:
        task = self.clock_syncs.get(api_url)
        if task is not None and task.done() and not task.cancelled():
            return task.result()  # the common case: no shield (a future) per key
        if task is None:
            task = asyncio.create_task(self._sync(self.pool.get(api_url)))
            self.clock_syncs[api_url] = task
        return await asyncio.shield(task)

    # ------------------------------------------------------------------ one key
    async def check(self, target: CheckTarget) -> tuple[CheckTarget, CheckResult]:
        checked_at = self.clock.now()
        problem = await self.clock_problem(target.api_url)
        if problem is not None:
            return target, CheckResult(Status.UNREACHABLE, checked_at, message=problem)
        client = self.pool.get(target.api_url)
        for attempt in range(1, MAX_RATE_LIMITED_ATTEMPTS + 1):
            try:
                reservation = await self.budgets.acquire(target.pool, KEY_INFO_WEIGHT)
            except RateWaitTooLong as wait:
                return target, _rate_limited(checked_at, wait.reset_ms)
            sent = await self._attempt(client, target, reservation)
            if _is_rate_limited(sent.outcome):
                self.stats.rate_limited_answers += 1
                if attempt < MAX_RATE_LIMITED_ATTEMPTS and sent.rate_limit is not None:
                    continue  # the budget now knows the reset: acquire waits, or gives up
            return target, _result(sent, client, self.timeout)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    async def _attempt(
        self, client: KucoinClient, target: CheckTarget, reservation: Reservation
    ) -> _Sent:
        """One request within the concurrency bound; settles the reservation whatever happens."""
        assert target.credential is not None  # nosec B101  # mypy narrowing
        answered = False
        sent_at = time.monotonic()
        sent = _Sent(self.clock.now())
        try:
            async with self.slots:
                sent.checked_at = self.clock.now()
                sent_at = time.monotonic()
                started = time.perf_counter()
                self.stats.requests += 1
                try:
                    async with asyncio.timeout(self.timeout):
                        sent.outcome = await client.api_key_info(target.credential)
                except (KucoinError, TimeoutError) as err:
                    sent.outcome = err
                sent.latency_ms = (time.perf_counter() - started) * 1000.0
            answered = not isinstance(sent.outcome, TimeoutError) and (
                not isinstance(sent.outcome, KucoinError) or sent.outcome.http_status != 0
            )
        finally:
            # Also on cancellation: a leaked reservation would stall the pool.
            seen = client.rate_limit_for(target.credential) if answered else None
            sent.rate_limit = seen if seen is not None and seen.seen_at >= sent_at else None
            limited = answered and _is_rate_limited(sent.outcome)
            self.budgets.settle(reservation, sent.rate_limit, answered=answered, exhausted=limited)
        return sent


@dataclass
class _Sent:
    """What one attempt produced."""

    checked_at: datetime
    outcome: KeyInfo | KucoinError | TimeoutError | None = None
    latency_ms: float = 0.0
    rate_limit: RateLimit | None = None  # the budget KuCoin reported with this answer


def _is_rate_limited(outcome: object) -> bool:
    return isinstance(outcome, KucoinError) and outcome.status == Status.RATE_LIMITED.value


def _rate_limited(checked_at: datetime, reset_ms: int) -> CheckResult:
    return CheckResult(
        Status.RATE_LIMITED,
        checked_at,
        message=f"request quota spent; it resets in {reset_ms / 1000:.1f} s",
        rate_limit_reset_ms=reset_ms,
    )


def _result(sent: _Sent, client: KucoinClient, timeout: float) -> CheckResult:
    outcome, checked_at, latency_ms = sent.outcome, sent.checked_at, sent.latency_ms
    if isinstance(outcome, KeyInfo):
        created = (
            datetime.fromtimestamp(outcome.created_at_ms / 1000, UTC).replace(microsecond=0)
            if outcome.created_at_ms
            else None
        )
        return CheckResult(
            Status.OK,
            checked_at,
            code="200000",
            http_status=200,
            latency_ms=latency_ms,
            permissions=outcome.permissions,
            ip_whitelist=outcome.ip_whitelist,
            api_version=outcome.api_version or None,
            uid=outcome.uid or None,
            is_master=outcome.is_master,
            sub_name=outcome.sub_name,
            remark=outcome.remark,
            created_at=created,
            clock_offset_ms=client.clock_offset_ms,
        )
    if outcome is None or isinstance(outcome, TimeoutError):
        return CheckResult(
            Status.UNREACHABLE,
            checked_at,
            latency_ms=latency_ms,
            message=f"no answer within {timeout:g} s",
        )
    try:
        status = Status(outcome.status)
    except ValueError:
        status = Status.UNREACHABLE
    message = outcome.message
    reset_ms = sent.rate_limit.reset_ms if sent.rate_limit is not None else None
    if isinstance(outcome, KucoinApiError):
        message = outcome.kucoin_message or outcome.message
        reset_ms = outcome.rate_limit_reset_ms if outcome.rate_limit_reset_ms else reset_ms
    if status is Status.RATE_LIMITED and reset_ms is not None:
        message = f"{message}; quota resets in {reset_ms / 1000:.1f} s"
    if status is Status.CLOCK_SKEW:
        message = f"{message}; host clock offset {client.clock_offset_ms:+d} ms after re-sync"
    return CheckResult(
        status,
        checked_at,
        code=outcome.code,
        http_status=outcome.http_status,
        message=message,
        latency_ms=latency_ms,
        clock_offset_ms=client.clock_offset_ms,
        rate_limit_reset_ms=reset_ms if status is Status.RATE_LIMITED else None,
    )


async def run_checks(
    targets: Sequence[CheckTarget],
    *,
    pool: ClientPool,
    concurrency: int = 64,
    timeout: float = 10.0,  # noqa: ASYNC109 - per request, not for the whole run
    retries: int = 1,
    max_rate_wait: float = 60.0,
    stats: RunStats | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[CheckEvent]:
    """Check every target; yields events as they complete. Cancel by closing the iterator.

    ``retries``: extra rounds for ``unreachable`` results (their events come after the retry).
    ``stats``: filled in as the run goes (requests sent, 429s met, clock syncs).
    ``clock``: stamps the results (default ``kutui.clock.current()``).
    """
    clock = clock or current()
    engine = _Engine(pool, concurrency, timeout, max_rate_wait, clock)
    if stats is not None:
        engine.stats = stats
    total = len(targets)
    done = 0
    pending: list[CheckTarget] = []
    for target in targets:
        if target.credential is None:
            done += 1
            result = CheckResult(Status.UNCHECKED, clock.now(), message=NOT_STORED_MESSAGE)
            yield CheckEvent(target, result, done, total)
        else:
            pending.append(target)
    rounds = max(0, retries) + 1
    try:
        for round_no in range(rounds):
            if not pending:
                break
            if round_no:
                engine.forget_failed_syncs()
            tasks = [asyncio.create_task(engine.check(t)) for t in pending]
            pending = []
            try:
                for next_done in asyncio.as_completed(tasks):
                    target, result = await next_done
                    if result.status is Status.UNREACHABLE and round_no < rounds - 1:
                        pending.append(target)  # reported after the retry round
                        continue
                    done += 1
                    yield CheckEvent(target, result, done, total)
            finally:
                await _cancel(tasks)
    finally:
        await _cancel(list(engine.clock_syncs.values()))
        engine.stats.budget_waits = sum(b.waits for b in engine.budgets.pools.values())


async def _cancel(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel what is still running and wait for it, so nothing outlives the run."""
    running = [t for t in tasks if not t.done()]
    for task in running:
        task.cancel()
    if running:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*running, return_exceptions=True)


class _Credentials(Protocol):
    def get(self, key_id: str) -> Credential | None: ...


def pool_hint(registry: Registry, key: ApiKey) -> str:
    """The key's Management pool: its uid when known (account, sub-account or last check)."""
    return _pool_hint(registry.account(key.ref.account), key)


def _pool_hint(account: Account | None, key: ApiKey) -> str:
    uid: int | None = None
    if account is not None:
        if key.ref.sub:
            sub = account.sub(key.ref.sub)
            uid = sub.uid if sub is not None else None
        else:
            uid = account.uid
    if uid is None and key.last_check is not None:
        uid = key.last_check.uid
    return str(uid) if uid is not None else key.ref.owner


def build_targets(
    registry: Registry,
    keys: Sequence[ApiKey],
    credentials: _Credentials | None,
    *,
    api_url: str = "",
) -> list[CheckTarget]:
    """One target per key; ``api_url`` overrides the accounts' URLs (tests, simulators)."""
    targets: list[CheckTarget] = []
    # An index, not Registry.account per key: 10,000 keys on 1,000 accounts would scan them
    # 20,000 times. The first account of a name, as Registry.account finds it.
    accounts: dict[str, Account] = {}
    for each in registry.accounts:
        accounts.setdefault(each.name, each)
    for key in keys:
        account = accounts.get(key.ref.account)
        url = api_url or (account.api_url if account is not None else DEFAULT_API_URL)
        cred = credentials.get(key.id) if credentials is not None and key.has_secret else None
        targets.append(CheckTarget(key.id, key.ref, url, cred, _pool_hint(account, key)))
    return targets
