"""`kutui demo` in a real terminal (tmux): unlock, check everything with `C`, quit with `q`.

Runs at 80x24 with TERM=xterm-256color and at 200x50 with TERM=screen, NO_COLOR and --no-mouse
(what SSH users meet). After `q` the pane must be back on the normal screen (alternate screen off)
and kutui must have exited 0.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kutui.demo import DEMO_PASSPHRASE

TMUX = shutil.which("tmux")

pytestmark = pytest.mark.slow


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    if TMUX is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    base = [TMUX, "-L", f"kutui-test-{uuid.uuid4().hex[:8]}", "-f", os.devnull]
    yield base
    subprocess.run([*base, "kill-server"], capture_output=True, check=False)


def _pane(base: list[str]) -> str:
    done = subprocess.run(
        [*base, "capture-pane", "-p", "-t", "demo"], capture_output=True, text=True, check=False
    )
    return done.stdout


def _wait_for(base: list[str], text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _pane(base)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on the screen; last screen:\n{screen}")


def _wait_for_gone(base: list[str], text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text not in _pane(base):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} is still on the screen:\n{_pane(base)}")


def _display(base: list[str], fmt: str) -> str:
    done = subprocess.run(
        [*base, "display-message", "-p", "-t", "demo", fmt],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("width", "height", "term", "extra_env", "extra_args"),
    [
        (80, 24, "xterm-256color", {}, []),
        (200, 50, "screen", {"NO_COLOR": "1"}, ["--no-mouse"]),
    ],
)
def test_demo_unlocks_checks_everything_and_quits_cleanly(
    tmux: list[str],
    tmp_path: Path,
    width: int,
    height: int,
    term: str,
    extra_env: dict[str, str],
    extra_args: list[str],
) -> None:
    exit_file = tmp_path / "exit-code"
    env = {"TERM": term, "KUTUI_HOME": str(tmp_path / "unused-home"), **extra_env}
    command = " ".join(
        [
            "env",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(sys.executable),
            "-m",
            "kutui",
            "demo",
            *extra_args,
            f"; echo $? > {shlex.quote(str(exit_file))}",
        ]
    )
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "demo", "-x", str(width), "-y", str(height), command],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    subprocess.run([*tmux, "set-option", "-t", "demo", "remain-on-exit", "on"], check=False)

    _wait_for(tmux, "Unlock the kutui vault", timeout=60)
    time.sleep(0.5)  # the screen is drawn a moment before its input takes keys
    subprocess.run([*tmux, "send-keys", "-t", "demo", "-l", DEMO_PASSPHRASE], check=True)
    subprocess.run([*tmux, "send-keys", "-t", "demo", "Enter"], check=True)
    _wait_for_gone(tmux, "Unlock the kutui vault", timeout=60)

    subprocess.run([*tmux, "send-keys", "-t", "demo", "C"], check=True)
    screen = _wait_for(tmux, "Checked:", timeout=120)
    assert DEMO_PASSPHRASE not in screen

    subprocess.run([*tmux, "send-keys", "-t", "demo", "q"], check=True)
    deadline = time.monotonic() + 30
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0"
    assert _display(tmux, "#{alternate_on}") == "0"
