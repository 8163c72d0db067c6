"""Live checks on the simulator, terminal loss, idle lock, and the CLI entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

import kutui.tui.app as app_module
from kutui.clock import Clock
from kutui.demo import Demo, build_demo
from kutui.model import Status
from kutui.tui.screens.main import MainScreen

from .conftest import NOW, make_app

ROOT = Path(__file__).resolve().parents[2]


async def _check_everything(demo: Demo) -> dict[str, Status]:
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("C")
        await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        return {k.id: k.status for k in app.registry.keys}


async def test_C_on_the_simulator_gives_every_status(fresh_demo: Demo) -> None:
    got = await _check_everything(fresh_demo)
    expected = {d.key.id: d.expected_status for d in fresh_demo.keys}
    assert got == expected
    assert set(Counter(got.values())) == {
        Status.OK,
        Status.BAD_PASSPHRASE,
        Status.IP_DENIED,
        Status.INVALID_KEY,
        Status.RATE_LIMITED,
        Status.UNREACHABLE,
    }


@pytest.mark.parametrize("days", [400, -400])
async def test_the_demo_keeps_every_status_with_the_clock_moved(days: int, tmp_path: Path) -> None:
    """The demo, its simulator and the app share one clock: moved 400 days either way, the
    "expiring" keys still have their five days left and every status is what the demo promises."""
    clock = Clock.starting_at(NOW).shifted(timedelta(days=days))
    demo = build_demo(tmp_path / "moved", clock=clock)
    got = await _check_everything(demo)
    assert got == {d.key.id: d.expected_status for d in demo.keys}
    dated = [k for k in demo.keys if k.kind == "expiring"]
    assert dated and all(
        k.key.created_at is not None and k.key.created_at > NOW + timedelta(days=days - 30)
        for k in dated
    )


async def test_app_exits_when_the_terminal_goes_away(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(demo)
    async with app.run_test() as pilot:
        await pilot.pause()
        monkeypatch.setattr(app_module, "_stdin_is_tty", lambda: False)
        app._check_terminal()
        await pilot.pause()
    assert app.return_code == 1


async def test_idle_lock_drops_the_vault(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app._last_input -= 3600
        app._maybe_idle_lock(60.0)
        await pilot.pause()
        assert app.vault is None
        assert type(app.screen).__name__ == "UnlockScreen"


async def test_without_a_vault_the_app_says_how_to_make_one(
    tmp_path: Path,
) -> None:
    from kutui.store.home import Home
    from kutui.tui.app import KutuiApp

    app = KutuiApp(Home.load(tmp_path / "empty"), watch_tty=False)
    async with app.run_test(notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("kutui init" in n.message for n in app._notifications)


def _kutui(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUTUI_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "kutui", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_lists_tui_and_demo(tmp_path: Path) -> None:
    out = _kutui("--help", home=tmp_path).stdout
    assert "tui" in out and "demo" in out
    assert "--no-mouse" in _kutui("demo", "--help", home=tmp_path).stdout


def test_demo_scale_is_checked(tmp_path: Path) -> None:
    result = _kutui("demo", "--scale", "0", home=tmp_path)
    assert result.returncode == 2
    assert "--scale must be from 1 to 250" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_tui_command_module_does_not_import_textual() -> None:
    code = (
        "import sys, argparse, kutui.commands.tui as t;"
        "p = argparse.ArgumentParser(); t.register(p.add_subparsers());"
        "print('textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


async def test_typing_counts_as_activity_for_the_idle_lock(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app._last_input -= 3600
        await pilot.press("slash", "x")  # typed into the filter box, which keeps the key
        app._maybe_idle_lock(60.0)
        await pilot.pause()
        assert app.vault is not None


def test_demo_screenshot_saves_an_svg_without_secrets(tmp_path: Path) -> None:
    out = tmp_path / "shot" / "kutui.svg"
    result = _kutui("demo", "--screenshot", str(out), home=tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "perp-2" in svg and "DRIFT" in svg
    # The demo's secrets come from a fixed seed: none of them may be drawn.
    from kutui.demo import build_demo

    demo = build_demo(tmp_path / "same-seed")
    vault = demo.open_vault()
    for key_id in vault.data.key_ids():
        cred = vault.data.get(key_id)
        assert cred is not None
        for value in (cred.api_key, cred.api_secret, cred.passphrase):
            assert value.reveal() not in svg


async def test_f9_saves_a_private_screenshot_where_kutui_was_started(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started_in = tmp_path / "work"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    app = make_app(demo)
    notes: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(message))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f9")
        await pilot.press("f9")  # a second one in the same second gets its own file
        await pilot.pause()
    shots = sorted(started_in.glob("kutui-*.svg"))
    stem = f"kutui-{demo.clock.now():%Y%m%d-%H%M%S}"  # the demo's frozen clock
    assert [p.name for p in shots] == [f"{stem}-1.svg", f"{stem}.svg"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in shots)
    assert f"Screenshot saved to {shots[1]}" in notes
    assert not list(demo.home.paths.state_dir.glob("*.svg"))  # not in the demo's temporary home
