"""RevealScreen: show one key's credentials on request, and hide them again after a timeout.

The screen opens masked (unless ``reveal_now``); ``r`` or enter reveals the API key, secret and
passphrase for ``timeout`` seconds (10 by default) with a countdown, then masks them again.
Masked, it shows only the fingerprint (last 4 characters of the API key) and fixed-width stars
that do not give away a value's length.
"""

from __future__ import annotations

import math
import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Label, Static

from kutui.model import fingerprint
from kutui.secret import Secret

REVEAL_SECONDS = 10.0
MASKED = "*" * 12
TICK_SECONDS = 0.25


class RevealScreen(ModalScreen[None]):
    """Dismisses with ``None`` (escape or q). ``title`` names the key (e.g. its reference)."""

    DEFAULT_CSS = """
    RevealScreen {
        align: center middle;
    }
    RevealScreen > #reveal {
        width: 72;
        max-width: 98%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    RevealScreen #reveal-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    RevealScreen #reveal-values {
        grid-size: 2;
        grid-columns: 16 1fr;
        height: auto;
    }
    RevealScreen .reveal-value {
        text-style: bold;
    }
    RevealScreen #reveal-status {
        padding: 1 0 0 0;
        color: $text-muted;
    }
    RevealScreen.-revealed #reveal-status {
        color: $text-warning;
    }
    """

    BINDINGS = [
        Binding("r,enter", "toggle_reveal", "Reveal/hide", id="reveal.toggle"),
        Binding("escape,q", "close", "Close", id="reveal.close"),
    ]

    def __init__(
        self,
        title: str,
        *,
        api_key: Secret,
        api_secret: Secret,
        passphrase: Secret,
        timeout: float = REVEAL_SECONDS,
        reveal_now: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._fields: tuple[tuple[str, Secret], ...] = (
            ("API key", api_key),
            ("API secret", api_secret),
            ("API passphrase", passphrase),
        )
        self._fingerprint = fingerprint(api_key.reveal())
        self._timeout = timeout
        self._reveal_now = reveal_now
        self._deadline = 0.0
        self._ticker: Timer | None = None

    @property
    def revealed(self) -> bool:
        return self.has_class("-revealed")

    def compose(self) -> ComposeResult:
        with Vertical(id="reveal"):
            yield Static(self._title, id="reveal-title", markup=False)
            with Grid(id="reveal-values"):
                for index, (name, _secret) in enumerate(self._fields):
                    yield Label(name)
                    yield Static("", id=f"value-{index}", classes="reveal-value", markup=False)
            yield Static("", id="reveal-status", markup=False)
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self._mask()
        if self._reveal_now:
            self.reveal()

    def _masked_value(self, index: int) -> str:
        # The API key's last 4 characters are its public fingerprint; nothing else shows.
        return f"{MASKED}{self._fingerprint}" if index == 0 else MASKED

    def _mask(self) -> None:
        self.remove_class("-revealed")
        for index in range(len(self._fields)):
            self.query_one(f"#value-{index}", Static).update(self._masked_value(index))
        self.query_one("#reveal-status", Static).update(
            f"Hidden. Press r to show the values for {self._seconds(self._timeout)} s."
        )

    def reveal(self) -> None:
        """Show the values and start the countdown (restarting it if already shown)."""
        for index, (_name, secret) in enumerate(self._fields):
            self.query_one(f"#value-{index}", Static).update(secret.reveal())
        self.add_class("-revealed")
        self._deadline = time.monotonic() + self._timeout
        if self._ticker is not None:
            self._ticker.stop()
        self._ticker = self.set_interval(min(TICK_SECONDS, self._timeout), self._tick)
        self._tick()

    def hide(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self._mask()

    def _tick(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.hide()
            return
        self.query_one("#reveal-status", Static).update(
            f"Shown. Hiding in {self._seconds(remaining)} s (r hides now)."
        )

    @staticmethod
    def _seconds(value: float) -> int:
        return max(1, math.ceil(value))

    def action_toggle_reveal(self) -> None:
        if self.revealed:
            self.hide()
        else:
            self.reveal()

    def action_close(self) -> None:
        self.hide()
        self.dismiss(None)
