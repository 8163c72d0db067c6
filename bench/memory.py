"""Peak memory of ``kutui check --all`` over a large fleet with 5 % injected faults.

    .venv/bin/python bench/memory.py [--keys 1000 10000] [--timeout 900] [--no-tracemalloc]

Each size runs in a fresh child process (the fleet of ``tests/faults/fleet10k.py``: 10 keys per
KuCoin user, every 20th user times out, answers 5xx or an HTML page; ~1 % wrong passphrases and
unknown keys) against the in-process simulator, exactly as the load test does. Printed per size:
wall time of the check, peak Python heap (tracemalloc, which slows the run ~2x; off with
``--no-tracemalloc``), peak resident set size (getrusage; includes the interpreter, httpx and the
simulator's own state), and the status counts. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(keys: int, trace: bool) -> None:
    sys.path.insert(0, str(REPO))
    from kutui.cli import build_parser
    from kutui.commands.check import run_check
    from tests.faults.fleet10k import build

    with tempfile.TemporaryDirectory() as tmp:
        fleet = build(Path(tmp) / "home", keys=keys)
        baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace:
            tracemalloc.start()
        args = build_parser().parse_args(
            fleet.argv("check", "--all", "--json", "--timeout", "0.3", "--concurrency", "512")
        )
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = run_check(args, transport=fleet.sim.transport())
        wall = time.perf_counter() - started
        heap_peak = tracemalloc.get_traced_memory()[1] if trace else 0
        report = json.loads(out.getvalue())
        print(
            json.dumps(
                {
                    "keys": keys,
                    "code": code,
                    "wall_s": wall,
                    "heap_peak_mib": heap_peak / 2**20,
                    "rss_before_mib": baseline_rss / 1024,
                    "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "statuses": Counter(row["status"] for row in report["keys"]),
                }
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, not args.no_tracemalloc)
        return 0
    print(f"{'keys':>6} {'exit':>4} {'check s':>8} {'heap MiB':>9} {'RSS MiB':>8}  statuses")
    for keys in args.keys:
        command = [sys.executable, __file__, "--child", str(keys)]
        if args.no_tracemalloc:
            command.append("--no-tracemalloc")
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=args.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"{keys:>6} did not finish within {args.timeout:g} s")
            continue
        if done.returncode != 0:
            print(f"{keys:>6} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
        heap = f"{row['heap_peak_mib']:9.1f}" if row["heap_peak_mib"] else f"{'-':>9}"
        print(
            f"{keys:>6} {row['code']:>4} {row['wall_s']:8.1f} {heap} {row['rss_peak_mib']:8.1f}"
            f"  {statuses}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
