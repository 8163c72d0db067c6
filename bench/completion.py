"""Shell completion cost: one ``kutui __complete`` process per Tab press (README.md, "Shell
completion"), for homes of 0, 1,000 and 10,000 keys: the median wall time of a subcommand
completion and of a key-reference completion (the read-only kutui.db query). Prints figures;
asserts nothing. Run: .venv/bin/python bench/completion.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kutui.model import Account, ApiKey, KeyRef, Registry, SubAccount
from kutui.store.home import Home

RUNS = 9


def build(root: Path, keys: int) -> None:
    def fill(reg: Registry) -> None:
        subs = [SubAccount(f"sub{n}") for n in range(100)]
        reg.accounts = [Account("main", subaccounts=subs)]
        reg.keys = [
            ApiKey(f"id{i}", KeyRef("main", f"sub{i % 100}", f"key{i}")) for i in range(keys)
        ]

    if keys:
        Home.load(root).update_registry(fill)


def tab(root: Path, *words: str) -> float:
    env = {**os.environ, "KUTUI_HOME": str(root)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kutui", "__complete", "--", *words],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    print(f"kutui __complete, median of {RUNS} processes")
    print(f"  {'keys':>6}  {'kutui ch<Tab>':>14}  {'kutui rotate main/sub1<Tab>':>28}")
    for keys in (0, 1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "home"
            root.mkdir(mode=0o700)
            build(root, keys)
            command = statistics.median(tab(root, "ch") for _ in range(RUNS))
            ref = statistics.median(tab(root, "rotate", "main/sub1") for _ in range(RUNS))
            print(f"  {keys:>6}  {command:>12.3f} s  {ref:>26.3f} s")


if __name__ == "__main__":
    main()
