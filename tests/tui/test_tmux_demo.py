"""`kutui demo` in a real terminal (tmux): unlock, check everything with `C`, quit with `q`; then
a whole session (check, failing only, sort, a rotation typed at, quit) and a burst of typing.

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
    assert exit_file.read_text().strip() == "0", _pane(tmux)  # kutui's last words on failure
    assert _display(tmux, "#{alternate_on}") == "0"


def _start_demo(base: list[str], tmp_path: Path, width: int, height: int) -> Path:
    exit_file = tmp_path / "exit-code"
    env = {"TERM": "xterm-256color", "KUTUI_HOME": str(tmp_path / "unused-home")}
    command = " ".join(
        [
            "env",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(sys.executable),
            "-m",
            "kutui",
            "demo",
            f"; echo $? > {shlex.quote(str(exit_file))}",
        ]
    )
    subprocess.run(
        [*base, "new-session", "-d", "-s", "demo", "-x", str(width), "-y", str(height), command],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    subprocess.run([*base, "set-option", "-t", "demo", "remain-on-exit", "on"], check=False)
    _wait_for(base, "Unlock the kutui vault", timeout=60)
    time.sleep(0.5)  # the screen is drawn a moment before its input takes keys
    _keys(base, DEMO_PASSPHRASE, literal=True)
    _keys(base, "Enter")
    _wait_for_gone(base, "Unlock the kutui vault", timeout=60)
    return exit_file


def _keys(base: list[str], *keys: str, literal: bool = False) -> None:
    flags = ["-l"] if literal else []
    subprocess.run([*base, "send-keys", "-t", "demo", *flags, *keys], check=True)
    time.sleep(0.3)


def _quits_cleanly(base: list[str], exit_file: Path) -> None:
    _keys(base, "q")
    deadline = time.monotonic() + 30
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0", _pane(base)  # kutui's last words on failure
    assert _display(base, "#{alternate_on}") == "0"


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_demo_checks_filters_sorts_rotates_ignores_typing_on_buttons_and_quits(
    tmux: list[str], tmp_path: Path, width: int, height: int
) -> None:
    """Issue 14, "Done when" 3: one session as a user has it, at 80x24 and 120x40."""
    exit_file = _start_demo(tmux, tmp_path, width, height)
    _keys(tmux, "C")
    _wait_for(tmux, "Checked:", timeout=120)
    _keys(tmux, "l", "F")  # the table, failing keys only
    screen = _wait_for(tmux, "Status (failing)", timeout=30)
    assert "✓ OK " not in screen.split("Status (failing)", 1)[1].split("\n", 2)[1]
    _keys(tmux, "o", "o")  # Key, then Status: by severity, failing first
    _wait_for(tmux, "Status (failing) ▲", timeout=30)
    _keys(tmux, "O")
    _wait_for(tmux, "Status (failing) ▼", timeout=30)
    _keys(tmux, "O")
    _wait_for(tmux, "Status (failing) ▲", timeout=30)

    _keys(tmux, "r")  # the first row: the most severe failing key
    screen = _wait_for(tmux, "Plan the rotation (automatic, pending)", timeout=30)
    title = next(line for line in screen.splitlines() if line.strip().startswith("Rotate "))
    ref = title.split()[1]
    before = screen
    # shift+tab from the steps table: the last button (Abort), then the one before (Run).
    for _button in ("Abort", "Run"):
        _keys(tmux, "BTab")
        _keys(tmux, "Qzw9asdxQzw", literal=True)  # a stray passphrase: every letter once bound
        screen = _pane(tmux)
        assert "Plan the rotation (automatic, pending)" in screen
        assert "Abort the rotation" not in screen and "reason" not in screen.lower()
    assert "Qzw" not in _pane(tmux) and "Qzw" not in before  # typed into nothing
    _keys(tmux, "Escape")
    _wait_for_gone(tmux, f"Rotate {ref}", timeout=30)
    _quits_cleanly(tmux, exit_file)


def test_demo_add_key_form_takes_a_burst_into_the_fields_typed(
    tmux: list[str], tmp_path: Path
) -> None:
    """Label, tab, key, tab, ... sent in one burst (one send-keys) fill each field in turn."""
    exit_file = _start_demo(tmux, tmp_path, 80, 24)
    _keys(tmux, "j", "a")  # alpha: the Add key form, on the label
    _wait_for(tmux, "tab next field", timeout=30)  # the form's own hint line
    subprocess.run(
        [
            *tmux,
            "send-keys",
            "-t",
            "demo",
            "newbot",
            "Tab",
            "0123456789abcdef01234567",
            "Tab",
            "0a1b2c3d-0000-4000-8000-0123456789ab",
            "Tab",
            "Pass-phrase-1",
            "Enter",
        ],
        check=True,
    )
    _wait_for_gone(tmux, "tab next field", timeout=30)
    _wait_for(tmux, "alpha/newbot", timeout=30)  # saved, and selected in the table
    _quits_cleanly(tmux, exit_file)
