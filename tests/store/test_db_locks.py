"""A second ``Home`` opened and closed in one process must not drop the first one's SQLite locks.

Closing any descriptor of kutui.db releases every POSIX lock the process holds on it; if kutui
opened the file itself to check it, another kutui process could then delete the write-ahead log
under a connection still in use, and the first one's next write would be lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kutui.model import Account, Registry
from kutui.store.home import Home


def _add(name: str) -> object:
    def change(reg: Registry) -> None:
        reg.accounts.append(Account(name))

    return change


def _kutui(home: Path, *argv: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUTUI_")}
    ran = subprocess.run(
        [sys.executable, "-m", "kutui", "--home", str(home), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_writes_from_a_long_lived_home_and_other_processes_all_stay(tmp_path: Path) -> None:
    first = Home.load(tmp_path)  # as the TUI: one Home for the whole session
    first.update_registry(_add("a"))  # type: ignore[arg-type]
    second = Home.load(tmp_path)
    second.registry()  # its own connection to the same file, in the same process
    second.close()
    _kutui(tmp_path, "account", "add", "b")  # a cron job in between
    first.update_registry(_add("c"))  # type: ignore[arg-type]
    assert "c " in _kutui(tmp_path, "account", "list")  # the other process sees the write
    _kutui(tmp_path, "account", "add", "d")
    first.update_registry(_add("e"))  # type: ignore[arg-type]
    first.close()
    names = [a.name for a in Home.load(tmp_path).registry().accounts]
    assert names == ["a", "b", "c", "d", "e"]
