"""The yardstick: kutui's CLI and TUI beside a lean reference checker, in one run.

    .venv/bin/python bench/yardstick.py                       # 1,000 keys, 3 runs
    .venv/bin/python bench/yardstick.py --keys 1000 10000 --runs 3 1
    nice .venv/bin/python bench/yardstick.py --keys 10000 --runs 3 --tui-only

For each size it writes a ``kutui simulate`` state with one key per KuCoin uid (ten uids per
account: a master and nine sub-accounts, so KuCoin's per-uid quota never dominates), starts the
simulator on loopback (``--latency-ms``, 50 by default), builds a kutui home for it (registry and
a weak-KDF vault through the Python API, as kutui/demo.py does: the bench guards fake keys;
47 results per key, as two days of an hourly cron leave, ``prefill_history``) and then, per run:

- the reference checker (bench/reference.py) on the same keys and server: wall time R, and R1 on
  one key (fresh clients each time);
- ``kutui check --all --json`` as a subprocess of the real CLI (``--passphrase-file``,
  ``--api-url``, same concurrency): wall time W and its peak RSS (``os.wait4``, this child only);
- ``kutui check acct0/key``, one key: wall time S = start-up + unlock + its account's rows read
  (``Home.registry_of``) + one clock sync + one check + its result saved. The ratio is
  ``(W - S) / (R - R1)``: each side's cost of the other N - 1 keys, with every fixed cost
  (start-up, unlock, client set-up, clock sync, the first round trip) removed from both the
  same way. What is left on kutui's side is its engine plus reading all N keys and recording
  N results instead of one. W, S and R are printed too;
- ``kutui key list --json``: wall time;
- the TUI in a fresh child process, headless ``App.run_test`` on the same home and server (vault
  unlocked before the clock starts): the first screen (registry loaded, tree built, the keys
  table's first rows in and painted once: the table adds the rest in chunks, see
  ``KeysTable.show``; the time until every row is in is printed as ``table_filled_s``),
  selecting the root node after an account (``show_node`` plus one repaint, median of three;
  the tree's 150 ms debounce above 2,000 keys is left out) and the latency of ``j`` presses in
  the keys table while ``C`` runs (p95; from the key event reaching the app to the table's
  cursor having moved; the check is cancelled once ``--presses`` presses are timed). "Painted"
  is ``bench/tui.py``'s ``painted``: Pilot.pause without its wait for the CPU to go idle,
  which before 2026-12-02 was counted in both screen figures.

Printed: one table of medians over the runs with the target, the figure and the ratio or
met/MISSED. Targets are printed, never asserted. Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _common import start_simulator, write_state
from reference import Key, check_all
from tui import painted, wait_first_screen, wait_table_filled

from kutui.checks.runner import CheckTarget
from kutui.demo import WEAK_KDF
from kutui.model import Account, ApiKey, Registry, SubAccount, now_utc
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import Vault, VaultData

if TYPE_CHECKING:
    from kutui.tui.app import KutuiApp

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "yardstick-bench-passphrase"  # guards fake keys only
UIDS_PER_ACCOUNT = 10
ONE_KEY = "acct0/key"


def passphrase_file(home: Path) -> Path:
    return home.parent / "passphrase.txt"


def build_home(root: Path, targets: list[CheckTarget], url: str, concurrency: int) -> None:
    """A kutui home holding ``targets`` (accounts pointing at ``url``), its passphrase beside."""
    root.mkdir(mode=0o700)
    config = root / "config.toml"
    config.write_text(
        f'[vault]\nunlock = "passphrase"\n\n[checks]\nconcurrency = {concurrency}\n'
        f'timeout_seconds = 10.0\n\n[kucoin]\napi_url = "{url}"\n'
    )
    config.chmod(0o600)
    registry = Registry()
    for target in targets:
        assert target.credential is not None
        uid = int(target.pool_hint)
        if not target.ref.sub:
            registry.accounts.append(Account(target.ref.account, api_url=url, uid=uid))
        else:
            registry.accounts[-1].subaccounts.append(SubAccount(target.ref.sub, uid))
        fingerprint = target.credential.api_key.reveal()[-4:]
        registry.keys.append(
            ApiKey(target.key_id, target.ref, fingerprint, added_at=now_utc(), has_secret=True)
        )
    home = Home.load(root)

    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = registry.accounts, registry.keys

    home.update_registry(replace)
    prefill_history(home, [key.id for key in registry.keys])
    vault = Vault.create(
        home.paths.vault, passphrase=Secret(PASSPHRASE), kdf=WEAK_KDF, allow_weak=True
    )

    def fill(data: VaultData) -> None:
        for target in targets:
            assert target.credential is not None
            data.put(target.key_id, target.credential)

    vault.update(fill)
    vault.close()
    passphrase_file(root).write_text(PASSPHRASE + "\n")
    passphrase_file(root).chmod(0o600)


def prefill_history(home: Home, key_ids: list[str]) -> None:
    """Give every key the results an hourly cron check leaves over two days, short of the 50
    kutui.db keeps (kutui/store/history.py): the runs below add theirs on top, and the TUI's
    first screen is timed on a home as a user has it, not a freshly built one."""
    from datetime import timedelta

    from kutui.model import Status
    from kutui.store.history import MAX_ENTRIES, HistoryEntry

    now = now_utc()
    entries = [
        HistoryEntry(now - timedelta(hours=hours), Status.OK, "200000", 200, 50.0)
        for hours in range(MAX_ENTRIES - 3, 0, -1)
    ]
    with home.store() as store, store.write() as tx:
        for key_id in key_ids:
            tx.add_history(key_id, entries)


@dataclass
class Child:
    wall: float
    code: int
    rss_mib: float
    output: str


def run_child(argv: list[str]) -> Child:
    """Run ``argv`` with this interpreter; wall time, exit code and peak RSS of that child only."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *argv], stdout=out, stderr=out, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Child(wall, proc.returncode, usage.ru_maxrss / 1024, text)


def kutui(home: Path, secret_file: Path, *command: str) -> Child:
    return run_child(
        ["-m", "kutui", "--home", str(home), "--passphrase-file", str(secret_file), *command]
    )


def statuses(child: Child) -> Counter[str]:
    try:
        return Counter(row["status"] for row in json.loads(child.output)["keys"])
    except (ValueError, KeyError, TypeError):
        return Counter({f"exit {child.code}: {child.output.strip()[-200:]}": 1})


@dataclass
class Figures:
    reference: list[float] = field(default_factory=list)
    reference_one: list[float] = field(default_factory=list)
    check_all: list[float] = field(default_factory=list)
    one_key: list[float] = field(default_factory=list)
    key_list: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    tui: list[dict[str, float]] = field(default_factory=list)

    def net_ratio(self) -> float:
        """Median over runs of ``(W - S) / (R - R1)`` (module docstring)."""
        runs = zip(self.check_all, self.one_key, self.reference, self.reference_one, strict=True)
        return statistics.median((w - s) / (r - r1) for w, s, r, r1 in runs)


def checking(app: KutuiApp) -> bool:
    return any(w.name.startswith("check ") and not w.is_finished for w in app.workers)


async def key_latency(app: KutuiApp) -> float:
    """Seconds from a ``j`` reaching the app to the keys table's cursor having moved.

    Pilot.press is not used here: it waits for the process to go idle, which it never does while
    a check streams results, so it would time the check rather than the key.
    """
    from textual import events

    assert app.main is not None
    table = app.main.table
    before = table.cursor_row
    started = time.perf_counter()
    app.post_message(events.Key("j", "j"))
    # Polling: the cursor position has no awaitable event.
    while table.cursor_row == before and time.perf_counter() - started < 10:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def tui_run(root: Path, total: int, presses: int) -> dict[str, float]:
    """One headless TUI session on the bench home (see the module docstring)."""
    from textual.worker import WorkerCancelled

    from kutui.tui.app import KutuiApp
    from kutui.tui.widgets.account_tree import ROOT as TREE_ROOT
    from kutui.tui.widgets.account_tree import NodeRef

    home = Home.load(root)
    vault = home.open_vault(passphrase=Secret(PASSPHRASE))
    t0 = time.perf_counter()  # the app's own set-up (themes, state) counts too
    app = KutuiApp(home, vault=vault, watch_tty=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(wait_first_screen(app, total), timeout=600)
        await painted(pilot)
        first_screen = time.perf_counter() - t0
        await asyncio.wait_for(wait_table_filled(app, total), timeout=600)
        filled = time.perf_counter() - t0
        main = app.main
        assert main is not None
        selections: list[float] = []
        for _ in range(3):
            main.show_node(NodeRef("acct0"))
            await pilot.pause()
            t1 = time.perf_counter()
            main.show_node(TREE_ROOT)
            await painted(pilot)
            selections.append(time.perf_counter() - t1)
            await asyncio.wait_for(wait_table_filled(app, total), timeout=600)
        assert main.table.row_count == total
        main.table.focus()
        await pilot.pause()
        await pilot.press("C")
        samples: list[float] = []
        while len(samples) < min(presses, total - 1) and checking(app):
            samples.append(await key_latency(app))
            await asyncio.sleep(0.02)
        # The presses are what this run is for: stop the check rather than wait for its end.
        app.workers.cancel_all()
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else math.nan
    return {
        "first_screen_s": first_screen,
        "table_filled_s": filled,
        "root_select_s": statistics.median(selections),
        "keypress_p95_s": p95,
        "keypresses": float(len(samples)),
    }


def timed_reference(url: str, keys: list[Key], concurrency: int) -> tuple[float, Counter[str]]:
    started = time.perf_counter()
    codes = asyncio.run(check_all(url, keys, concurrency=concurrency))
    return time.perf_counter() - started, codes


def one_run(
    figures: Figures, home: Path, url: str, keys: list[Key], args: argparse.Namespace
) -> str:
    """Append one run's CLI and reference figures; returns a line describing the run."""
    secret_file = passphrase_file(home)
    wall, codes = timed_reference(url, keys, args.concurrency)
    figures.reference.append(wall)
    figures.reference_one.append(timed_reference(url, keys[:1], args.concurrency)[0])
    full = kutui(home, secret_file, "check", "--all", "--json",
                 "--concurrency", str(args.concurrency), "--api-url", url)  # fmt: skip
    one = kutui(home, secret_file, "check", ONE_KEY, "--api-url", url)
    listing = kutui(home, secret_file, "key", "list", "--json")
    figures.check_all.append(full.wall)
    figures.rss_mib.append(full.rss_mib)
    figures.one_key.append(one.wall)
    figures.key_list.append(listing.wall)
    return (
        f"reference {wall:.3f} s {dict(codes)}, one key {figures.reference_one[-1]:.3f} s; "
        f"check --all {full.wall:.3f} s {dict(statuses(full))}, {full.rss_mib:.0f} MiB; "
        f"check {ONE_KEY} {one.wall:.3f} s (exit {one.code}); "
        f"key list {listing.wall:.3f} s (exit {listing.code}); "
        f"ratio {(full.wall - one.wall) / (wall - figures.reference_one[-1]):.2f}"
    )


def tui_child(figures: Figures, home: Path, keys: int, presses: int) -> str:
    """Run ``tui_run`` in a fresh process; append its figures, return a line describing them."""
    argv = [__file__, "--tui-child", str(home), "--keys", str(keys), "--presses", str(presses)]
    child = run_child(argv)
    try:
        figures.tui.append(json.loads(child.output.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return f"TUI run failed (exit {child.code}): {child.output.strip()[-300:]}"
    return "TUI " + ", ".join(f"{k} {v:.3f}" for k, v in figures.tui[-1].items())


def measure(keys: int, runs: int, args: argparse.Namespace) -> Figures:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="kutui-yardstick-") as tmp:
        state = Path(tmp) / "state.toml"
        targets = write_state(state, keys, uids_per_master=UIDS_PER_ACCOUNT)
        reference_keys = [
            Key(c.api_key.reveal(), c.api_secret.reveal(), c.passphrase.reveal(), c.api_version)
            for c in (t.credential for t in targets)
            if c is not None
        ]
        proc, url = start_simulator(state, args.latency_ms)
        try:
            home = Path(tmp) / "home"
            build_home(home, targets, url, args.concurrency)
            for run in range(runs):
                if not args.tui_only:
                    line = one_run(figures, home, url, reference_keys, args)
                    print(f"  {keys} keys, run {run + 1}: {line}", flush=True)
                if not args.no_tui:
                    print(f"  {tui_child(figures, home, keys, args.presses)}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return figures


def row(measure: str, target: str, today: str, verdict: str) -> str:
    return f"| {measure} | {target} | {today} | {verdict} |"


def met(value: float, limit: float) -> str:
    return "met" if value <= limit else "MISSED"


def table(results: dict[int, Figures]) -> list[str]:
    lines = [row("measure", "target", "today (median)", "ratio / met"),
             row("---", "---", "---", "---")]  # fmt: skip
    for keys, f in results.items():
        if not f.check_all:  # --tui-only
            continue
        ratio = f.net_ratio()
        w, s, r, r1 = (
            statistics.median(x) for x in (f.check_all, f.one_key, f.reference, f.reference_one)
        )
        today = f"kutui {w:.2f} - {s:.2f} s; reference {r:.2f} - {r1:.2f} s"
        lines.append(row(f"`check --all` / reference, {keys:,} keys", "<= 1.15", today,
                         f"{ratio:.2f} {met(ratio, 1.15)}"))  # fmt: skip
    biggest = max(results)
    f = results[biggest]
    n = f"{biggest:,} keys"
    if f.check_all:
        lines += cli_rows(f, n)
    if f.tui:
        lines += tui_rows(f, n)
    return lines


def cli_rows(f: Figures, n: str) -> list[str]:
    listing, one, rss = (statistics.median(x) for x in (f.key_list, f.one_key, f.rss_mib))
    return [
        row(f"`key list --json`, {n}", "<= 0.3 s", f"{listing:.2f} s", met(listing, 0.3)),
        row(f"`check {ONE_KEY}` incl. unlock, {n}", "<= 1.0 s", f"{one:.2f} s", met(one, 1.0)),
        row(f"peak RSS of `check --all`, {n}", "<= 200 MB", f"{rss:.0f} MiB",
            met(rss * 2**20, 200e6)),
    ]  # fmt: skip


def tui_rows(f: Figures, n: str) -> list[str]:
    first, root, p95 = (
        statistics.median(t[name] for t in f.tui)
        for name in ("first_screen_s", "root_select_s", "keypress_p95_s")
    )
    lines = [
        row(f"TUI first screen after unlock, {n}", "<= 1 s", f"{first:.2f} s", met(first, 1)),
        row(f"TUI select the root node, {n}", "<= 150 ms", f"{1000 * root:.0f} ms",
            met(root, 0.15)),
    ]  # fmt: skip
    if math.isnan(p95):  # the check ended before a second press
        lines.append(row(f"TUI key press p95 during a check, {n}", "<= 50 ms", "-", "-"))
    else:
        lines.append(row(f"TUI key press p95 during a check, {n}", "<= 50 ms",
                         f"{1000 * p95:.0f} ms", met(p95, 0.05)))  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000], help="sizes (default 1000)")
    parser.add_argument(
        "--runs", type=int, nargs="+", default=[3], help="runs per size (last value repeats)"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--presses", type=int, default=40, help="key presses sampled per TUI run")
    parser.add_argument("--no-tui", action="store_true")
    parser.add_argument(
        "--tui-only", action="store_true", help="only the TUI figures (no CLI or reference runs)"
    )
    parser.add_argument("--tui-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tui_child:
        result = asyncio.run(tui_run(args.tui_child, args.keys[0], args.presses))
        print(json.dumps(result))
        return 0
    results: dict[int, Figures] = {}
    for n, keys in enumerate(args.keys):
        runs = args.runs[min(n, len(args.runs) - 1)]
        print(f"{keys:,} keys, {runs} run(s), latency {args.latency_ms:g} ms", flush=True)
        results[keys] = measure(keys, runs, args)
    load = os.getloadavg()
    print(f"\nmedians; load average {load[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
