"""Child process of the 10,000-key load test and of ``bench/memory.py``.

    python -m tests.faults.load_child DIR [KEYS]

Builds the fleet under DIR, runs ``kutui check --all --json`` in process against the in-process
simulator, and prints one JSON document: ``{"code", "report", "expected", "faults", "stderr",
"peak_kib"}`` (peak resident memory of this process, from getrusage).
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

from kutui.cli import build_parser
from kutui.commands.check import run_check
from tests.faults.fleet10k import build


def main(argv: list[str]) -> int:
    root = Path(argv[0])
    keys = int(argv[1]) if len(argv) > 1 else 10_000
    started = time.perf_counter()
    fleet = build(root / "home", keys=keys)
    built = time.perf_counter() - started
    args = build_parser().parse_args(
        fleet.argv("check", "--all", "--json", "--timeout", "0.3", "--concurrency", "512")
    )
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_check(args, transport=fleet.sim.transport())
    checked = time.perf_counter() - started
    doc = {
        "code": code,
        "report": json.loads(out.getvalue()),
        "expected": {ref: status.value for ref, status in fleet.expected.items()},
        "faults": dict(fleet.sim.counters.faults),
        "stderr": err.getvalue(),
        "build_s": built,
        "check_s": checked,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    json.dump(doc, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
