"""A tiny host app for testing one modal screen at a time."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

NOTHING = object()


class ModalHost(App[None]):
    """Pushes ``make_screen()`` on mount and records what it dismissed with in ``results``."""

    BINDINGS = [
        Binding("ctrl+r", "refresh_all", "Refresh everything", id="host.refresh"),
        Binding("f5", "noop", "", id="host.hidden"),
    ]

    def __init__(self, make_screen: Callable[[], Screen[Any]] | None = None) -> None:
        super().__init__()
        self._make_screen = make_screen
        self.results: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("host app")

    def on_mount(self) -> None:
        if self._make_screen is not None:
            self.push_screen(self._make_screen(), self.results.append)

    def action_refresh_all(self) -> None:
        """Only here so the help screen has an app binding to list."""

    def action_noop(self) -> None:
        """A binding without a description, which help leaves out."""


def screen_text(app: App[Any]) -> str:
    """The visible text of the screen: an SVG screenshot with tags and escapes removed."""
    return svg_text(app.export_screenshot())


def svg_text(svg: str) -> str:
    """The text of a Textual SVG screenshot, laid out in rows and columns like the terminal.

    Each run of text is placed by its x position, so blank cells between differently styled
    runs (which the SVG draws only as background) come back as spaces.
    """
    rows: dict[float, dict[int, str]] = {}
    for match in _TEXT_RUN.finditer(svg):
        x, y, run = float(match[1]), float(match[2]), html.unescape(match[3])
        rows.setdefault(y, {})[round(x / _CELL_WIDTH)] = run.replace("\xa0", " ")
    lines = []
    for y in sorted(rows):
        cells: list[str] = []
        for column, run in sorted(rows[y].items()):
            cells.extend(" " * (column - len(cells)))
            cells[column : column + len(run)] = run
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


_CELL_WIDTH = 12.2  # pixels per cell in Textual's SVG export
_TEXT_RUN = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')


def no_blink(app: App[Any]) -> None:
    """Freeze cursors so snapshots are stable."""
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


async def settle_layout(pilot: Any, *, rounds: int = 20) -> None:
    """Wait until the screen stops changing: workers done, animations run, two equal frames.

    A Markdown widget (the help) builds its blocks after the screen mounts; a fixed single
    pause let a loaded machine snapshot it half laid out.
    """
    app = pilot.app
    previous = None
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        frame = app.export_screenshot()
        if frame == previous:
            return
        previous = frame
