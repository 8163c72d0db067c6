"""The TUI's "Broken" list of issue 14, each reproduced as a new user met it."""

from __future__ import annotations

from typing import Any

from kutui.demo import Demo
from kutui.rotation.checklist import State
from kutui.rotation.store import RotationStore
from kutui.tui.app import KutuiApp

from .conftest import make_app

SIZE = (120, 40)


async def _settle(pilot: Any, app: KutuiApp) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _rotations(demo: Demo) -> list[Any]:
    store = RotationStore(demo.home.paths.rotations_dir)
    return [store.load_path(p) for p in sorted(demo.home.paths.rotations_dir.glob("*.toml"))]


async def test_a_passphrase_typed_on_the_rotation_screen_never_aborts_it(demo: Demo) -> None:
    """alpha/admin, r, x, then a passphrase typed while focus is not in a text field, and enter:
    once ``a`` opened the abort box, the rest of the passphrase landed in it, and enter stored it
    as the abort reason."""
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        await pilot.press("j", "l", "r")
        await _settle(pilot, app)
        assert type(app.screen).__name__ == "RotationScreen"
        await pilot.press("x")
        await _settle(pilot, app)
        assert "web UI" in str(app.screen.query_one("#rot-step-title").render())
        await pilot.press(*"Passphrase1sdx", "enter")
        await _settle(pilot, app)
        assert type(app.screen).__name__ == "RotationScreen"
        assert "web UI" in str(app.screen.query_one("#rot-step-title").render())
        shown = app.export_screenshot()
    assert "ssphrase1" not in shown
    (checklist,) = _rotations(demo)
    assert checklist.state is State.OPEN
    assert checklist.abort_reason == ""
