"""accounts.toml speed: load, save and one locked update for registries of 1,000 and 10,000 keys.

Prints figures; asserts nothing. Run: .venv/bin/python bench/registry.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
    SubAccount,
    now_utc,
)
from kutui.store.home import Home
from kutui.store.registry import read_registry, write_registry


def build(keys: int) -> Registry:
    subs = [SubAccount(f"sub{i}") for i in range(100)]
    now = now_utc()
    return Registry(
        accounts=[Account("main", subaccounts=subs)],
        keys=[
            ApiKey(
                f"id{i:06d}",
                KeyRef("main", f"sub{i % 100}", f"bot{i}"),
                fingerprint=f"{i % 10000:04d}",
                added_at=now,
                has_secret=True,
                note=PermissionNote("grid bot", ("General", "Spot"), ("host-a",)),
                last_check=CheckResult(Status.OK, now, permissions=("General", "Spot")),
            )
            for i in range(keys)
        ],
    )


def timed(label: str, fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    print(f"  {label:<28} {time.perf_counter() - start:8.3f} s")


def run(size: int) -> None:
    registry = build(size)
    with tempfile.TemporaryDirectory() as directory:
        home = Home.load(Path(directory))
        path = home.paths.accounts
        print(f"{size} keys:")
        timed("save (atomic write)", lambda: write_registry(path, registry))
        print(f"  {'file size':<28} {path.stat().st_size / 1e6:8.2f} MB")
        timed("load (parse + validate)", lambda: read_registry(path))
        timed("locked update (load+save)", lambda: home.update_registry(lambda r: None))


def main() -> None:
    for size in (1_000, 10_000):
        run(size)


if __name__ == "__main__":
    main()
