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
    """Answers every target with the demo's expected status, after an optional delay.

    ``hang_after``: answer that many targets, then wait (until cancelled) before the next, so a
    test sees a check that is still running whatever the machine's speed."""

    def __init__(self, demo: Demo, *, delay: float = 0.0, hang_after: int | None = None) -> None:
        self.expected = {d.key.id: d.expected_status for d in demo.keys}
        self.delay = delay
        self.hang_after = hang_after
        self.seen: list[str] = []

    async def __call__(
        self, targets: Sequence[CheckTarget], *, pool: ClientPool, **_: Any
    ) -> AsyncIterator[CheckEvent]:
        for done, target in enumerate(targets, 1):
            if self.hang_after is not None and len(self.seen) >= self.hang_after:
                await asyncio.Event().wait()  # only a cancel ends this
            if self.delay:
                await asyncio.sleep(self.delay)
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
