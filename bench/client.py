"""Signed key-info requests against `kutui simulate` on loopback: rate and client CPU per request.

    .venv/bin/python bench/client.py [--requests 2000] [--concurrency 50] [--runs 3]

Starts ``python -m kutui simulate --port 0`` with 50 users (one key each, VIP 12 and a short quota
window so the quota never interferes), then for each pool shape (8 AsyncClients x 8 connections,
1 x 64) runs the requests and prints the median requests/s and the median client CPU ms per
request (``time.process_time`` of this process only; the server runs in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kutui.kucoin.client import KucoinClient
from kutui.model import Credential
from kutui.secret import Secret

USERS = 50


def _state(path: Path) -> list[Credential]:
    lines = ["[server]", "quota_window_ms = 1000", ""]
    creds: list[Credential] = []
    for n in range(USERS):
        uid = 1001 + n
        api_key, api_secret, passphrase = secrets.token_hex(12), str(uuid.uuid4()), f"Bench-{n:04d}"
        lines += [
            "[[users]]", f"uid = {uid}", "vip_level = 12", "",
            "[[keys]]", f"uid = {uid}", f'api_key = "{api_key}"', f'api_secret = "{api_secret}"',
            f'passphrase = "{passphrase}"', "",
        ]  # fmt: skip
        creds.append(Credential(Secret(api_key), Secret(api_secret), Secret(passphrase)))
    path.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)
    return creds


async def _run(
    url: str, creds: list[Credential], total: int, concurrency: int, shards: int, per: int
) -> tuple[float, float]:
    client = KucoinClient(url, timeout=10.0, shards=shards, connections_per_shard=per)
    await client.sync_clock()
    await asyncio.gather(*(client.api_key_info(c) for c in creds[:concurrency]))  # warm up
    queue = iter(range(total))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for n in queue:
            try:
                await client.api_key_info(creds[n % len(creds)])
            except Exception:
                failures += 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await client.aclose()
    if failures:
        print(f"  ({failures} requests failed)", file=sys.stderr)
    return total / wall, cpu * 1000.0 / total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.toml"
        creds = _state(state)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            print(f"kutui simulate at {url}; {args.requests} signed GET /api/v1/user/api-key, "
                  f"concurrency {args.concurrency}, median of {args.runs} runs")  # fmt: skip
            for shards, per in ((8, 8), (1, 64), (4, 16)):
                rates, cpus = [], []
                for _ in range(args.runs):
                    rate, cpu = asyncio.run(
                        _run(url, creds, args.requests, args.concurrency, shards, per)
                    )
                    rates.append(rate)
                    cpus.append(cpu)
                print(
                    f"{shards} client(s) x {per} connections: "
                    f"{statistics.median(rates):7.0f} requests/s, "
                    f"{statistics.median(cpus):5.2f} ms client CPU per request"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
