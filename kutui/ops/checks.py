"""Checks: which keys a request names, their targets (API URL, credentials, rate pool), running
them with results saved in batches, and how results count.

Both front ends build targets with ``kutui.checks.runner.build_targets`` (a key's rate pool is its
uid when known) and save through ``save_results`` (``kutui.store.learn``'s rule, in kutui.db's
``record_results``): a key without a stored secret is ``unchecked``, which changes nothing and is
not counted as failing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from kutui.errors import KeyNotFound, UsageError
from kutui.model import ApiKey, CheckResult, KeyRef, Registry, Status

if TYPE_CHECKING:
    import httpx

    from kutui.checks.runner import CheckEvent, CheckTarget
    from kutui.clock import Clock
    from kutui.kucoin.client import ClientPool
    from kutui.store.config import ChecksConfig
    from kutui.store.home import Home
    from kutui.store.vault import VaultData


def failing(status: Status) -> bool:
    """Whether a result counts against the run (exit 1, the TUI's "failing" count): anything but
    ok, and but unchecked (no secret stored, nothing was asked)."""
    return status not in (Status.OK, Status.UNCHECKED)


def select_keys(registry: Registry, refs: Sequence[str], every: bool) -> list[ApiKey]:
    """The keys REFs name, in registry order, each once; KeyNotFound for an unknown REF."""
    if every:
        return list(registry.keys)
    chosen: dict[str, ApiKey] = {}
    for text in refs:
        parts = text.strip().strip("/").split("/")
        found: list[ApiKey] = []
        if len(parts) in (2, 3):
            try:
                key = registry.key(KeyRef.parse(text))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            if key is not None:
                found = [key]
        if not found and len(parts) in (1, 2):
            account = registry.account(parts[0])
            if account is not None and (len(parts) == 1 or account.sub(parts[1]) is not None):
                found = registry.keys_under(parts[0], parts[1] if len(parts) == 2 else None)
                if not found:
                    raise KeyNotFound(f"{text} has no keys")
        if not found:
            raise KeyNotFound(f"no key, account or sub-account named {text!r}")
        for key in found:
            chosen[key.id] = key
    return [k for k in registry.keys if k.id in chosen]


def registry_for(home: Home, refs: Sequence[str], every: bool) -> Registry:
    """The part of the registry a check needs: all of it for ``--all``, else the accounts the
    REFs name (each REF starts with its account), so checking one key reads a few rows."""
    if every:
        return home.registry()
    return home.registry_of({ref.strip().strip("/").split("/")[0] for ref in refs})


def targets(
    registry: Registry,
    keys: Sequence[ApiKey],
    credentials: VaultData | None,
    *,
    api_url: str = "",
) -> list[CheckTarget]:
    """One target per key (``kutui.checks.runner.build_targets``)."""
    from kutui.checks.runner import build_targets

    return build_targets(registry, keys, credentials, api_url=api_url)


def save_results(home: Home, batch: Iterable[tuple[str, CheckResult]]) -> int:
    """Record a batch of results in one kutui.db transaction; returns how many were recorded."""
    return home.record_results(batch)


class Checker(Protocol):
    """``kutui.checks.runner.run_checks``'s shape (tests give the TUI a fake one)."""

    def __call__(
        self,
        targets: Sequence[CheckTarget],
        *,
        pool: ClientPool,
        concurrency: int = ...,
        timeout: float = ...,
        retries: int = ...,
        max_rate_wait: float = ...,
        clock: Clock | None = ...,
    ) -> AsyncIterator[CheckEvent]: ...


def run(
    settings: ChecksConfig,
    check_targets: Sequence[CheckTarget],
    *,
    pool: ClientPool,
    concurrency: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - per request, passed to the engine
    clock: Clock | None = None,
    checker: Checker | None = None,
) -> AsyncIterator[CheckEvent]:
    """The check run both front ends stream: config.toml's ``[checks]`` (concurrency, timeout,
    retries, rate wait) unless overridden; events as keys complete. Cancel by closing it."""
    from kutui.checks import runner

    engine: Checker = checker if checker is not None else runner.run_checks
    return engine(
        check_targets,
        pool=pool,
        concurrency=concurrency or settings.concurrency,
        timeout=timeout or settings.timeout_seconds,
        retries=settings.retries,
        max_rate_wait=settings.max_rate_wait_seconds,
        clock=clock,
    )


async def check_and_save(
    home: Home,
    check_targets: list[CheckTarget],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    concurrency: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - per request, passed to the engine
    on_event: Callable[[CheckEvent], None] | None = None,
    clock: Clock | None = None,
) -> dict[str, CheckResult]:
    """Run the checks, save each batch of results (``ResultSaver``), return key id -> result.
    What was learned is kept after a cancel or Ctrl-C too."""
    import asyncio

    from kutui.checks.results import ResultSaver
    from kutui.kucoin.client import ClientPool

    settings = home.config.checks
    saver = ResultSaver(home)
    results: dict[str, CheckResult] = {}
    # The engine owns retries (its own round for unreachable keys, pacing for 429s).
    pool = ClientPool(
        transport=transport,
        timeout=timeout or settings.timeout_seconds,
        max_retries=0,
        clock=clock.ms if clock is not None else None,
    )
    try:
        async for event in run(
            settings,
            check_targets,
            pool=pool,
            concurrency=concurrency,
            timeout=timeout,
            clock=clock,
        ):
            results[event.target.key_id] = event.result
            if saver.take(event.target.key_id, event.result):
                # In a thread: the checks in flight go on while the batch is written and synced.
                await asyncio.to_thread(saver.flush)
            if on_event is not None:
                on_event(event)
    finally:
        saver.flush()
        await pool.aclose()
    return results
