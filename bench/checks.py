"""Bulk health checks against `kutui simulate` on loopback: wall time versus the latency bound.

    .venv/bin/python bench/checks.py [--keys 1000] [--latency-ms 50] [--concurrency 64]
                                     [--runs 5] [--sequential-keys 1000] [--sequential-runs 1]

Starts ``python -m kutui simulate --port 0 --latency-ms 50`` with one key on each of ``--keys``
uids (VIP0, so each uid's quota is 100 checks per 30 s and never interferes), then:

- the engine (``kutui.checks.runner.run_checks``: clock sync, budgets, bounded concurrency) at
  ``--concurrency``, over real HTTP, a fresh ``ClientPool`` per run (so connection set-up counts);
- the same engine on the in-process simulator transport (same latency, no sockets): what the
  engine itself costs, without httpx/httpcore's connection handling;
- a plain sequential loop (``await client.api_key_info(cred)`` one key after another).

For each it prints the median wall time over the runs, the lower bound
``ceil(N / concurrency) x latency`` (``N x latency`` for the loop) and their ratio, plus this
process's CPU time (the server runs in its own process). Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import start_simulator, write_state

from kutui.checks.runner import CheckTarget, RunStats, run_checks
from kutui.kucoin.client import ClientPool
from kutui.model import Status


async def engine_run(
    url: str, targets: list[CheckTarget], concurrency: int
) -> tuple[float, float, Counter[Status], RunStats]:
    targets = [CheckTarget(t.key_id, t.ref, url, t.credential, t.pool_hint) for t in targets]
    pool = ClientPool(timeout=10.0, max_retries=0)
    stats = RunStats()
    counts: Counter[Status] = Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        async for event in run_checks(targets, pool=pool, concurrency=concurrency, stats=stats):
            counts[event.result.status] += 1
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await pool.aclose()
    return wall, cpu, counts, stats


async def in_process_run(
    targets: list[CheckTarget], latency_ms: float, concurrency: int
) -> tuple[float, float]:
    """The same engine on the in-process simulator transport: no sockets, no httpcore."""
    from kutui.kucoin.simulator import Simulator

    sim = Simulator(latency_ms=latency_ms)
    for n, target in enumerate(targets):
        assert target.credential is not None
        sim.add_user(100_001 + n)
        cred = target.credential
        sim.add_key(
            100_001 + n,
            api_key=cred.api_key.reveal(),
            api_secret=cred.api_secret.reveal(),
            passphrase=cred.passphrase.reveal(),
        )
    targets = [
        CheckTarget(t.key_id, t.ref, "http://sim", t.credential, t.pool_hint) for t in targets
    ]
    pool = ClientPool(transport=sim.transport(), timeout=10.0, max_retries=0)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        async for event in run_checks(targets, pool=pool, concurrency=concurrency):
            assert event.result.status is Status.OK
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await pool.aclose()
    return wall, cpu


async def sequential_run(url: str, targets: list[CheckTarget]) -> tuple[float, float, int]:
    pool = ClientPool(timeout=10.0, max_retries=0)
    client = pool.get(url)
    ok = 0
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        await client.sync_clock()
        for target in targets:
            assert target.credential is not None
            await client.api_key_info(target.credential)
            ok += 1
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await pool.aclose()
    return wall, cpu, ok


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc), else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, n: int, walls: list[float], cpus: list[float], bound: float) -> float:
    wall = statistics.median(walls)
    ratio = wall / bound
    print(
        f"{name:<22} N={n:<5} wall median {wall:7.3f} s  (runs: "
        f"{', '.join(f'{w:.3f}' for w in walls)})  bound {bound:7.3f} s  ratio {ratio:5.2f}  "
        f"client CPU {statistics.median(cpus):6.3f} s ({1000 * statistics.median(cpus) / n:.2f}"
        " ms/key)"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sequential-keys", type=int, default=1000)
    parser.add_argument("--sequential-runs", type=int, default=1)
    args = parser.parse_args()
    latency = args.latency_ms / 1000.0
    with tempfile.TemporaryDirectory() as tmp:
        targets = write_state(Path(tmp) / "state.toml", args.keys)
        proc, url = start_simulator(Path(tmp) / "state.toml", args.latency_ms)
        try:
            print(f"simulator {url}, {args.keys} keys on {args.keys} uids, latency {latency:g} s")
            walls: list[float] = []
            cpus: list[float] = []
            server_cpu = process_cpu(proc.pid)
            for _ in range(args.runs):
                wall, cpu, counts, stats = asyncio.run(engine_run(url, targets, args.concurrency))
                if counts != Counter({Status.OK: args.keys}):
                    print(f"unexpected results: {dict(counts)}", file=sys.stderr)
                    return 1
                walls.append(wall)
                cpus.append(cpu)
            # The engine's bound: the clock sync (one round trip) is part of every run.
            bound = math.ceil(args.keys / args.concurrency) * latency
            ratio = report(f"engine c={args.concurrency}", args.keys, walls, cpus, bound)
            server_cpu = (process_cpu(proc.pid) - server_cpu) / args.runs
            print(
                f"{'':<22} requests {stats.requests}, 429s {stats.rate_limited_answers}, "
                f"budget waits {stats.budget_waits}, clock syncs {stats.clock_syncs}; "
                f"simulator CPU {server_cpu:.3f} s per run "
                f"({1000 * server_cpu / args.keys:.2f} ms/key)"
            )
            print(f"{'':<22} load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            walls, cpus = [], []
            for _ in range(args.runs):
                wall, cpu = asyncio.run(in_process_run(targets, args.latency_ms, args.concurrency))
                walls.append(wall)
                cpus.append(cpu)
            report(f"in-process c={args.concurrency}", args.keys, walls, cpus, bound)
            n = min(args.sequential_keys, args.keys)
            if n and args.sequential_runs:
                seq_walls: list[float] = []
                seq_cpus: list[float] = []
                for _ in range(args.sequential_runs):
                    wall, cpu, ok = asyncio.run(sequential_run(url, targets[:n]))
                    assert ok == n
                    seq_walls.append(wall)
                    seq_cpus.append(cpu)
                report("sequential loop", n, seq_walls, seq_cpus, n * latency)
            print(f"target ratio <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'} (engine)")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
