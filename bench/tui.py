"""TUI benchmark: 10,000 keys on the in-process simulator, headless (``App.run_test``).

Prints, as medians over ``--runs`` fresh processes: the time to the first screen (registry
loaded, tree built, the keys table's first rows painted; the rest of its rows follow in chunks,
``KeysTable.show``), the time from ``C`` to the end of the check (every
result drawn and saved), and the peak resident memory of the process.

    .venv/bin/python bench/tui.py            # 10,000 keys, 3 runs
    .venv/bin/python bench/tui.py --scale 25 --runs 1   # 1,000 keys, quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]


if TYPE_CHECKING:
    from textual.pilot import Pilot

    from kutui.tui.app import KutuiApp


async def wait_first_screen(app: KutuiApp, total: int) -> None:
    """Return once the registry is loaded, the tree built and the keys table holds its first
    rows (more than a screen: the table adds the rest in chunks, ``KeysTable.show``)."""
    from kutui.tui.widgets.keys_table import FIRST_ROWS, KeysTable

    while True:
        main = app.main
        ready = main is not None and main.ready and app.registry_loaded
        if ready and main is not None:
            rows = main.query_one(KeysTable).row_count
            if rows >= min(total, FIRST_ROWS):
                return
        await asyncio.sleep(0.01)


async def painted(pilot: Pilot[int]) -> None:
    """Handle every message queued so far, then paint the screen once: ``Pilot.pause`` without
    its wait for the CPU to go idle (up to a second, and never while the table is filling)."""
    await pilot._wait_for_screen()  # noqa: SLF001 - the half of Pilot.pause wanted here
    pilot.app.screen._on_timer_update()  # noqa: SLF001


async def wait_table_filled(app: KutuiApp, total: int) -> None:
    """Return once the keys table holds all ``total`` rows."""
    from kutui.tui.widgets.keys_table import KeysTable

    while True:
        main = app.main
        if main is not None and main.query_one(KeysTable).row_count == total:
            return
        await asyncio.sleep(0.01)


async def one_run(scale: int) -> dict[str, float]:
    from kutui.demo import build_demo
    from kutui.tui.app import KutuiApp

    with tempfile.TemporaryDirectory(prefix="kutui-bench-") as tmp:
        started = time.perf_counter()
        demo = build_demo(Path(tmp) / "home", scale=scale)
        built = time.perf_counter() - started
        total = len(demo.keys)
        vault = demo.open_vault()
        transport = demo.transport()
        t0 = time.perf_counter()  # the app's own set-up (themes, state) counts too
        app = KutuiApp(
            demo.home, vault=vault, transport=transport, clock=demo.clock, watch_tty=False
        )
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_first_screen(app, total)
            await painted(pilot)
            first_screen = time.perf_counter() - t0
            await wait_table_filled(app, total)
            t1 = time.perf_counter()
            await pilot.press("C")
            await pilot.pause(2.0)
            # Responsiveness while results stream in: move the table cursor.
            t3 = time.perf_counter()
            await pilot.press("l")
            focus_during = time.perf_counter() - t3
            t3 = time.perf_counter()
            await pilot.press("j")
            key_during = time.perf_counter() - t3
            await app.workers.wait_for_complete()
            await pilot.pause()
            checked = time.perf_counter() - t1
            # Keystroke latency while idle after the run: one j in the table.
            t2 = time.perf_counter()
            await pilot.press("j")
            keypress = time.perf_counter() - t2
            app.save_results_soon(force=True)
            await app.workers.wait_for_complete()
            unchecked = sum(1 for k in app.registry.keys if k.last_check is None)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "keys": float(total),
        "build_s": built,
        "first_screen_s": first_screen,
        "check_all_s": checked,
        "keypress_s": keypress,
        "focus_during_check_s": focus_during,
        "keypress_during_check_s": key_during,
        "unchecked": float(unchecked),
        "peak_rss_mib": peak_kib / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=250, help="40 keys x SCALE (250 = 10,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(one_run(args.scale))))
        return 0
    results = []
    for run in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--scale", str(args.scale)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"run {run + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in result.items()))
    print(f"\nmedians over {len(results)} runs, {int(results[0]['keys'])} keys:")
    names = (
        "first_screen_s",
        "check_all_s",
        "keypress_s",
        "focus_during_check_s",
        "keypress_during_check_s",
        "peak_rss_mib",
        "build_s",
    )
    for name in names:
        print(f"  {name:<16} {statistics.median(r[name] for r in results):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
