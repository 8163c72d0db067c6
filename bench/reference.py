"""A lean reference checker: the baseline ``kutui check --all`` is compared to (bench/yardstick.py).

    .venv/bin/python bench/reference.py --url URL --state STATE.toml [--concurrency 64]

What a careful script without kutui's machinery would do, and nothing more: plain
``httpx.AsyncClient`` objects (8 connection pools of 8 connections, as kutui's client spreads its
requests, see kutui/kucoin/client.py), one ``GET /api/v1/timestamp`` for the clock offset, inline
signing (HMAC-SHA256 of the prehash, HMAC'd passphrase, ``KC-API-KEY-VERSION`` = the key's
version), ``GET /api/v1/user/api-key`` per key under an ``asyncio.Semaphore``, and classification
by the body's ``code`` only. No budgets, no retries, no history, nothing saved. With ``--state``
it checks every key of a ``kutui simulate`` state file and prints the wall time and the codes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import time
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from kutui.clock import current

PATH = "/api/v1/user/api-key"


@dataclass(frozen=True)
class Key:
    api_key: str
    api_secret: str
    passphrase: str
    version: int = 3


def _b64_hmac(secret: str, message: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    ).decode()


def _code(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return f"http {reply.status_code}, no JSON"
    return str(body.get("code", "no code")) if isinstance(body, dict) else "no code"


async def check_all(
    url: str,
    keys: Sequence[Key],
    *,
    concurrency: int = 64,
    pools: int = 8,
    connections: int = 8,
    request_timeout: float = 10.0,
) -> Counter[str]:
    """Check every key once; returns how many answers carried each body code."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    clients = [
        httpx.AsyncClient(base_url=url, limits=limits, timeout=request_timeout)
        for _ in range(pools)
    ]
    turn = itertools.count()
    now_ms = current().ms
    codes: Counter[str] = Counter()
    try:
        stamp = (await clients[0].get("/api/v1/timestamp")).json()["data"]
        offset = int(stamp) - int(now_ms())
        gate = asyncio.Semaphore(concurrency)

        async def one(key: Key) -> None:
            async with gate:
                ts = str(int(now_ms()) + offset)
                headers = {
                    "KC-API-KEY": key.api_key,
                    "KC-API-SIGN": _b64_hmac(key.api_secret, f"{ts}GET{PATH}"),
                    "KC-API-TIMESTAMP": ts,
                    "KC-API-PASSPHRASE": _b64_hmac(key.api_secret, key.passphrase),
                    "KC-API-KEY-VERSION": str(key.version),
                }
                client = clients[next(turn) % pools]
                try:
                    codes[_code(await client.get(PATH, headers=headers))] += 1
                except httpx.HTTPError as exc:
                    codes[type(exc).__name__] += 1

        await asyncio.gather(*(one(key) for key in keys))
    finally:
        for client in clients:
            await client.aclose()
    return codes


def keys_of_state(path: Path) -> list[Key]:
    """Every key of a ``kutui simulate`` state file (kutui/kucoin/simulator/state.py)."""
    state = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Key(k["api_key"], k["api_secret"], k["passphrase"], int(k.get("api_version", 3)))
        for k in state.get("keys", [])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    keys = keys_of_state(args.state)
    started = time.perf_counter()
    codes = asyncio.run(check_all(args.url, keys, concurrency=args.concurrency))
    print(f"{len(keys)} keys in {time.perf_counter() - started:.3f} s: {dict(codes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
