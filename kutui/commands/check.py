"""``kutui check [REF...] [--all]``: check keys against KuCoin, in bulk, from a terminal or cron.

REF is a key (``ACCOUNT/LABEL``, ``ACCOUNT/SUB/LABEL``), an account (``ACCOUNT``: its master keys
and every sub-account's) or a sub-account (``ACCOUNT/SUB``). On a terminal, a live progress line
goes to stderr and a table sorted by severity, with each failing key's explanation and fix, to
stdout. ``--json`` prints one JSON document on stdout and nothing else (schema in docs/json.md).

``--prometheus FILE``, ``--notify URL`` and ``--ping URL`` report the run elsewhere too
(``kutui.checks.outputs``; README.md, "Monitoring and alerts"): checked before the run, and their
failures are warnings that never change the exit code.

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

    from kutui.checks.runner import CheckEvent
    from kutui.model import ApiKey, CheckResult

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
    out = parser.add_argument_group(
        "monitoring (README.md, 'Monitoring and alerts'; a failure here keeps the exit code)"
    )
    out.add_argument(
        "--prometheus",
        metavar="FILE",
        help="write the results as a node_exporter textfile (FILE.prom, replaced atomically)",
    )
    out.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="send keys not ok, expiring or drifting from their note to this Apprise URL "
        "(repeatable; adds to config.toml [notify] urls; needs kutui[notify])",
    )
    out.add_argument(
        "--ping",
        metavar="URL",
        help="dead-man ping for cron: POST to URL when the run exits 0, to URL/fail otherwise",
    )
    parser.set_defaults(func=run_check)


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
    from kutui.ops import checks
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
    failing = [(k, r) for k, r in rows if checks.failing(r.status)]
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


def run_check(
    args: argparse.Namespace, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    from kutui.checks.outputs import failures_pinged
    from kutui.commands.common import warn

    # --ping is checked first: every later error, even a bug, is then pinged as a failure.
    with failures_pinged(getattr(args, "ping", None), warn):
        return _run_check(args, transport)


def _run_check(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    import asyncio

    from kutui.checks.outputs import RunOutputs
    from kutui.commands.common import is_tty, load_home, notice, open_vault, print_json, warn
    from kutui.errors import UsageError
    from kutui.model import now_utc
    from kutui.ops import checks
    from kutui.ops.accounts import url_problem

    if not args.refs and not args.all:
        raise UsageError("name the keys to check (REF...) or pass --all")
    if args.refs and args.all:
        raise UsageError("give REFs or --all, not both")
    if args.concurrency is not None and not 1 <= args.concurrency <= 1024:
        raise UsageError("--concurrency must be between 1 and 1024")
    if args.timeout is not None and not 0 < args.timeout <= 300:
        raise UsageError("--timeout must be more than 0 and at most 300 seconds")
    if args.api_url is not None:
        problem = url_problem(args.api_url)
        if problem:
            raise UsageError(f"--api-url: {problem}")
    home = load_home(args)
    outputs = RunOutputs.parse(
        home.config,
        prometheus=getattr(args, "prometheus", None),
        notify=getattr(args, "notify", None) or [],
        ping=getattr(args, "ping", None),
        debug=bool(getattr(args, "debug", False)),
    )
    registry = checks.registry_for(home, list(args.refs), args.all)
    keys = checks.select_keys(registry, list(args.refs), args.all)
    credentials = None
    if any(k.has_secret for k in keys):
        credentials = open_vault(args, home).data
    targets = checks.targets(registry, keys, credentials, api_url=args.api_url or "")
    del credentials
    checked_at = now_utc()
    started = time.monotonic()
    progress = Progress(len(targets), sys.stderr) if is_tty(sys.stderr) and targets else None
    try:
        results = asyncio.run(
            checks.check_and_save(
                home,
                targets,
                transport=transport,
                concurrency=args.concurrency or home.config.checks.concurrency,
                timeout=args.timeout or home.config.checks.timeout_seconds,
                on_event=progress.update if progress is not None else None,
            )
        )
    finally:
        if progress is not None:
            progress.finish()
    rows = [(k, results[k.id]) for k in keys if k.id in results]
    if args.json:
        print_json(report_json(rows, checked_at.isoformat()))
    elif not rows:
        notice("no keys to check: add one with 'kutui key add ACCOUNT/LABEL'")
    else:
        print_report(rows, time.monotonic() - started, sys.stdout)
    failed = any(checks.failing(r.status) for _, r in rows)
    code = 1 if failed else 0
    if outputs.wanted:
        for line in outputs.publish(
            registry,
            rows,
            home.config,
            finished=now_utc(),
            duration_s=time.monotonic() - started,
            exit_code=code,
        ):
            warn(line)
    return code
