"""SVG snapshots of the screens, on deterministic demo data with a frozen clock.

Review changes in the HTML report before accepting them with ``--snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from kutui.demo import Demo
from kutui.tui.app import KutuiApp
from kutui.tui.themes import BUNDLED_THEME_NAMES

from .conftest import make_app
from .modal_host import settle_layout

SnapCompare = Callable[..., bool]


def _app(demo: Demo, **kwargs: Any) -> KutuiApp:
    app = make_app(demo, **kwargs)
    app.vault_label = "~/.local/share/kutui/vault.kv1"
    return app


def no_blink(app: App[Any]) -> None:
    """Stop cursor blinking (Input, TextArea) so a snapshot never catches half a blink."""
    for widget in app.screen.query("*"):
        if hasattr(widget, "cursor_blink"):
            widget.cursor_blink = False


def _steps(*keys: str, pause: float = 0.0) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        if pause:
            await pilot.pause(pause)
        await pilot.app.workers.wait_for_complete()
        no_blink(pilot.app)
        await settle_layout(pilot)

    return run


def test_unlock(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(_app(demo, unlocked=False), terminal_size=(100, 30), run_before=_steps())


def test_main_overview(snap_compare: SnapCompare, demo: Demo) -> None:
    """Root selected: tree with worst status per node, table, overview with counts and ages."""
    assert snap_compare(_app(demo), terminal_size=(120, 40), run_before=_steps())


def test_main_every_status_in_the_table(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(_app(demo), terminal_size=(200, 100), run_before=_steps("l"))


def test_detail_with_drift(snap_compare: SnapCompare, demo: Demo) -> None:
    # tree: alpha/bot-futures; table: perp-2 (seen Futures, not expected).
    assert snap_compare(
        _app(demo), terminal_size=(120, 45), run_before=_steps("j", "j", "j", "l", "j")
    )


def test_notes_editor(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(_app(demo), terminal_size=(120, 40), run_before=_steps("l", "n"))


def test_help(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(_app(demo), terminal_size=(120, 40), run_before=_steps("f1"))


def test_palette_filtered(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(
        _app(demo),
        terminal_size=(120, 40),
        run_before=_steps("l", "ctrl+p", *"key: ", pause=0.5),
    )


@pytest.mark.parametrize("theme", BUNDLED_THEME_NAMES)
def test_bundled_theme(snap_compare: SnapCompare, demo: Demo, theme: str) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _steps()(pilot)
        pilot.app.theme = theme
        await pilot.pause()
        await _steps("j", "j", "j", "l", "j")(pilot)

    assert snap_compare(_app(demo), terminal_size=(120, 40), run_before=run)


def test_small_terminal(snap_compare: SnapCompare, demo: Demo) -> None:
    assert snap_compare(_app(demo), terminal_size=(80, 24), run_before=_steps("j", "j", "l"))


# A failing key (bad passphrase) with its explanation and fix, at each size the issue names, in
# the default theme and monochrome (NO_COLOR); the other bundled themes are above.
LAYOUT_SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.mark.parametrize("no_color", [False, True], ids=["color", "no-color"])
@pytest.mark.parametrize("size", LAYOUT_SIZES, ids=[f"{w}x{h}" for w, h in LAYOUT_SIZES])
def test_layout(
    snap_compare: SnapCompare,
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read (and removed) by App.__init__
    # tree: alpha/bot-spot; table: scalper (bad passphrase), the 4th row.
    steps = _steps("j", "j", "l", "j", "j", "j")
    assert snap_compare(_app(demo), terminal_size=size, run_before=steps)


def test_first_run_says_how_to_start(
    snap_compare: SnapCompare, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kutui.store.home import Home

    monkeypatch.chdir(tmp_path)
    home = Home.load(tmp_path / "empty")
    app = KutuiApp(home, watch_tty=False)

    async def run(pilot: Pilot[Any]) -> None:
        await _steps()(pilot)
        pilot.app.clear_notifications()  # the toast names the temporary path
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", LAYOUT_SIZES, ids=[f"{w}x{h}" for w, h in LAYOUT_SIZES])
def test_failing_only_sorted_by_severity(
    snap_compare: SnapCompare, demo: Demo, size: tuple[int, int]
) -> None:
    """Every key, failing only (F), sorted by Status (o o): the header says both."""
    assert snap_compare(_app(demo), terminal_size=size, run_before=_steps("l", "F", "o", "o"))
