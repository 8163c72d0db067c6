"""``kutui check [REF...] [--all]``: check keys against KuCoin, in bulk, from a terminal or cron.

REF is a key (``ACCOUNT/LABEL``, ``ACCOUNT/SUB/LABEL``), an account (``ACCOUNT``: its master keys
and every sub-account's) or a sub-account (``ACCOUNT/SUB``). On a terminal, a live progress line
goes to stderr and a table sorted by severity, with each failing key's explanation and fix, to
stdout. ``--json`` prints one JSON document on stdout and nothing else (schema in docs/checks.md).

Exit codes: 0 every checked key is ``ok``; 1 any checked key is not; 2 usage, config or vault
errors. Keys without a stored secret are listed as ``unchecked`` and do not change the exit code.

Tests and the demo reach the in-process simulator by calling ``run_check(args,
transport=sim.transport())``; from a shell, ``--api-url http://127.0.0.1:PORT`` points every key
at ``kutui simulate``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

from kutui.commands.common import add_json_flag

if TYPE_CHECKING:
    import httpx

    from kutui.checks.runner import CheckEvent, CheckTarget
    from kutui.model import ApiKey, CheckResult, Registry
    from kutui.store.home import Home

JSON_SCHEMA_VERSION = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check keys against KuCoin (exit 0 all ok, 1 some not, 2 usage error)",
        description="Check that keys work and record what KuCoin reports about them "
        "(permissions, IP whitelist, key version). REF is ACCOUNT, ACCOUNT/SUB, ACCOUNT/LABEL or "
        "ACCOUNT/SUB/LABEL. Exit 0 when every checked key is ok, 1 when any is not, 2 on usage, "
        "config or vault errors.",
    )
    parser.add_argument("refs", nargs="*", metavar="REF", help="keys, accounts or sub-accounts")
    parser.add_argument("--all", action="store_true", help="check every key")
    add_json_flag(parser)
    parser.add_argument(
        "--concurrency", type=int, metavar="N", help="requests in flight (default: config)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per request (default: config)"
    )
    parser.add_argument(
        "--api-url", metavar="URL", help="send every check to this API URL (e.g. a simulator)"
    )
    parser.set_defaults(func=run_check)


# --------------------------------------------------------------------------- selection


def select_keys(registry: Registry, refs: list[str], every: bool) -> list[ApiKey]:
    """The keys REFs name, in registry order, each once; KeyNotFound for an unknown REF."""
    from kutui.errors import KeyNotFound, UsageError
    from kutui.model import KeyRef

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


# --------------------------------------------------------------------------- progress


class Progress:
    """One status line on stderr, rewritten in place: done/total, counts, rate, ETA."""

    def __init__(self, total: int, stream: TextIO, *, every: float = 0.1) -> None:
        self.total = total
        self.stream = stream
        self.every = every
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.done = 0
        self._shown = 0.0

    def update(self, event: CheckEvent) -> None:
        self.done = event.done
        self.counts[event.result.status.value] += 1
        now = time.monotonic()
        if now - self._shown >= self.every or self.done == self.total:
            self._shown = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        counts = "  ".join(f"{name} {n}" for name, n in self.counts.most_common())
        return (
            f"checked {self.done}/{self.total}  {counts}  {rate:.0f}/s  ETA {left:.0f} s"
        ).rstrip()

    def finish(self) -> None:
        if self.done:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- output


def key_json(key: ApiKey, result: CheckResult) -> dict[str, object]:
    return {
        "ref": str(key.ref),
        "fingerprint": key.fingerprint,
        "status": result.status.value,
        "code": result.code,
        "message": result.message,
        "fix": _fix(key, result),
        "latency_ms": round(result.latency_ms, 1),
        "permissions": list(result.permissions),
        "ip_whitelist": result.ip_whitelist,
        "api_version": result.api_version,
        "uid": result.uid,
        "checked_at": result.checked_at.isoformat(),
    }


def _fix(key: ApiKey, result: CheckResult) -> str:
    from kutui.kucoin.diagnosis import ADVICE
    from kutui.model import Status

    if result.status is Status.OK:
        return ""
    if result.status is Status.UNCHECKED:
        return f"store the key's secret: kutui key add {key.ref}"
    return ADVICE[result.status][1]


def report_json(rows: list[tuple[ApiKey, CheckResult]], checked_at: str) -> dict[str, object]:
    summary = Counter(result.status.value for _, result in rows)
    return {
        "schema": JSON_SCHEMA_VERSION,
        "checked_at": checked_at,
        "summary": dict(sorted(summary.items())),
        "keys": [key_json(k, r) for k, r in sorted(rows, key=lambda row: str(row[0].ref))],
    }


def print_report(rows: list[tuple[ApiKey, CheckResult]], elapsed: float, out: TextIO) -> None:
    from kutui.commands.common import print_table
    from kutui.kucoin.diagnosis import ADVICE
    from kutui.model import Status
    from kutui.text import clean_message

    rows = sorted(rows, key=lambda row: (-row[1].status.severity, str(row[0].ref)))
    print_table(
        ["STATUS", "KEY", "FPR", "MS", "DETAIL"],
        [
            [
                r.status.value,
                str(k.ref),
                f"…{k.fingerprint}" if k.fingerprint else "",
                f"{r.latency_ms:.0f}" if r.latency_ms else "",
                _detail(r),
            ]
            for k, r in rows
        ],
        file=out,
    )
    failing = [(k, r) for k, r in rows if r.status not in (Status.OK, Status.UNCHECKED)]
    if failing:
        print("", file=out)
        for key, result in failing:
            explanation, fix = ADVICE[result.status]
            # Stored messages are cleaned when they arrive; accounts.toml may have been edited.
            said = f" ({clean_message(result.message)})" if result.message else ""
            print(f"{key.ref}: {result.status.value}: {explanation}{said}", file=out)
            print(f"    fix: {fix}", file=out)
    counts = Counter(r.status.value for _, r in rows)
    summary = ", ".join(f"{n} {name}" for name, n in counts.most_common())
    print(f"\n{len(rows)} key(s) in {elapsed:.1f} s: {summary}", file=out)


def _detail(result: CheckResult) -> str:
    from kutui.model import Status

    if result.status is Status.OK:
        perms = ",".join(result.permissions) or "-"
        ip = result.ip_whitelist or "any IP"
        return f"v{result.api_version or '?'} {perms}; {ip}"
    return result.message[:80]


# --------------------------------------------------------------------------- running


async def check_keys(
    home: Home,
    targets: list[CheckTarget],
    *,
    transport: httpx.AsyncBaseTransport | None,
    concurrency: int,
    timeout: float,  # noqa: ASYNC109 - per request, passed to the engine
    progress: Progress | None,
) -> dict[str, CheckResult]:
    """Run the checks, save each batch of results, return key id -> result."""
    import asyncio

    from kutui.checks.results import ResultSaver
    from kutui.checks.runner import run_checks
    from kutui.kucoin.client import ClientPool

    settings = home.config.checks
    saver = ResultSaver(home)
    results: dict[str, CheckResult] = {}
    # The engine owns retries (its own round for unreachable keys, pacing for 429s).
    pool = ClientPool(transport=transport, timeout=timeout, max_retries=0)
    try:
        async for event in run_checks(
            targets,
            pool=pool,
            concurrency=concurrency,
            timeout=timeout,
            retries=settings.retries,
            max_rate_wait=settings.max_rate_wait_seconds,
        ):
            results[event.target.key_id] = event.result
            if saver.take(event.target.key_id, event.result):
                # In a thread: the checks in flight go on while the batch is written and synced.
                await asyncio.to_thread(saver.flush)
            if progress is not None:
                progress.update(event)
    finally:
        saver.flush()  # keep what was learned, even after Ctrl-C
        await pool.aclose()
        if progress is not None:
            progress.finish()
    return results


def run_check(
    args: argparse.Namespace, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    import asyncio

    from kutui.checks.runner import build_targets
    from kutui.commands.common import is_tty, load_home, notice, open_vault, print_json
    from kutui.errors import UsageError
    from kutui.model import Status, api_url_problem, now_utc

    if not args.refs and not args.all:
        raise UsageError("name the keys to check (REF...) or pass --all")
    if args.refs and args.all:
        raise UsageError("give REFs or --all, not both")
    if args.concurrency is not None and not 1 <= args.concurrency <= 1024:
        raise UsageError("--concurrency must be between 1 and 1024")
    if args.timeout is not None and not 0 < args.timeout <= 300:
        raise UsageError("--timeout must be more than 0 and at most 300 seconds")
    if args.api_url is not None:
        problem = api_url_problem(args.api_url)
        if problem:
            raise UsageError(f"--api-url {problem}")
    home = load_home(args)
    # REFs all start with an account name: its rows are all a named check needs.
    named = {ref.strip().strip("/").split("/")[0] for ref in args.refs}
    registry = home.registry() if args.all else home.registry_of(named)
    keys = select_keys(registry, list(args.refs), args.all)
    credentials = None
    if any(k.has_secret for k in keys):
        credentials = open_vault(args, home).data
    targets = build_targets(registry, keys, credentials, api_url=args.api_url or "")
    del credentials
    checked_at = now_utc()
    started = time.monotonic()
    progress = Progress(len(targets), sys.stderr) if is_tty(sys.stderr) and targets else None
    results = asyncio.run(
        check_keys(
            home,
            targets,
            transport=transport,
            concurrency=args.concurrency or home.config.checks.concurrency,
            timeout=args.timeout or home.config.checks.timeout_seconds,
            progress=progress,
        )
    )
    rows = [(k, results[k.id]) for k in keys if k.id in results]
    if args.json:
        print_json(report_json(rows, checked_at.isoformat()))
    elif not rows:
        notice("no keys to check: add one with 'kutui key add ACCOUNT/LABEL'")
    else:
        print_report(rows, time.monotonic() - started, sys.stdout)
    failed = any(r.status not in (Status.OK, Status.UNCHECKED) for _, r in rows)
    return 1 if failed else 0
