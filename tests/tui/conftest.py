"""Fixtures for the TUI tests: a deterministic demo home, one clock, a fake checker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.clock import Clock
from kutui.demo import Demo, build_demo
from kutui.kucoin.client import ClientPool
from kutui.model import CheckResult, Status
from kutui.tui.app import KutuiApp
from kutui.tui.screens.main import MainScreen

NOW = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


def demo_clock(*, frozen: bool) -> Clock:
    """NOW, for the demo, its simulator and the app alike. Frozen for screens that are compared
    to snapshots ("expires in 5d" must not become 4d); advancing in real time from NOW for live
    checks, so the simulator's timestamp window and quota windows still move."""
    return Clock.frozen_at(NOW) if frozen else Clock.starting_at(NOW)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's home, theme and keyring out; freeze the input cursor blink."""
    monkeypatch.setenv("KUTUI_HOME", str(tmp_path / "unused-home"))
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return build_demo(tmp_path / "demo", clock=demo_clock(frozen=True), prechecked=True)


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Demo:
    return build_demo(tmp_path / "fresh", clock=demo_clock(frozen=False), prechecked=False)


class FakeChecker:
    """Answers every target with the demo's expected status, after an optional delay. With
    ``hold_after`` it answers that many, then waits until the run is cancelled: a check that is
    still running however slowly the test gets to its next step."""

    def __init__(self, demo: Demo, *, delay: float = 0.0, hold_after: int | None = None) -> None:
        self.expected = {d.key.id: d.expected_status for d in demo.keys}
        self.delay = delay
        self.hold_after = hold_after
        self.seen: list[str] = []

    async def __call__(
        self, targets: Sequence[CheckTarget], *, pool: ClientPool, **_: Any
    ) -> AsyncIterator[CheckEvent]:
        for done, target in enumerate(targets, 1):
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hold_after is not None and done > self.hold_after:
                await asyncio.Event().wait()  # until the run's task is cancelled
            self.seen.append(target.key_id)
            status = self.expected.get(target.key_id, Status.OK)
            result = CheckResult(status=status, checked_at=NOW, latency_ms=5.0)
            yield CheckEvent(target=target, result=result, done=done, total=len(targets))


def make_app(demo: Demo, *, unlocked: bool = True, **kwargs: Any) -> KutuiApp:
    vault = demo.open_vault() if unlocked else None
    return KutuiApp(
        demo.home,
        vault=vault,
        clock=demo.clock,
        unlock_hint=f"demo passphrase: {demo.passphrase}",
        **kwargs,
    )


AppFactory = Callable[..., KutuiApp]


async def ready(pilot: Any, app: KutuiApp, *, rounds: int = 1) -> MainScreen:
    """The main screen once its workers (registry load, first paint) are done; ``rounds``
    more than one for screens whose first load starts further work."""
    await settle(pilot, app, rounds=rounds)
    main = app.main
    assert main is not None and main.ready
    return main


async def settle(pilot: Any, app: KutuiApp, *, rounds: int = 3) -> None:
    """Let the app's workers finish and their messages be handled, ``rounds`` times (a
    worker's result may start another)."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Any, condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds (a state a user would see), or fail. Tests
    wait on what they need instead of sleeping a guess: a loaded CI machine makes guesses wrong."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"still not true after {timeout} s: {condition}"
        await pilot.pause(0.02)


async def burst(pilot: Any, app: KutuiApp, *keys: str) -> None:
    """Deliver ``keys`` as a terminal delivers a burst (a fast typist on a busy app, tmux
    ``send-keys``): all at once, none waiting for the one before to be handled, unlike
    ``pilot.press``, which lets the app go idle after each key. Returns once all are handled."""
    from textual import events
    from textual.keys import _character_to_key

    driver = app._driver
    assert driver is not None
    expected = app.key_order.received + len(keys)
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, key if len(key) == 1 else "\t" if key == "tab" else None)
        event.set_sender(app)
        driver.send_message(event)
    await until(pilot, lambda: app.key_order.received >= expected and app.key_order.idle)
    await pilot.pause()
