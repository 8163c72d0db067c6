"""Watch mode: re-check every key on an interval, off until the user turns it on (``w``).

The state is shown in the header (the app's sub-title), so a screen left open on a wall says
whether its statuses are being kept fresh. A round is skipped while a check is still running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.timer import Timer

if TYPE_CHECKING:
    from kutui.tui.screens.main import MainScreen

#: Seconds between rounds: a full check of many keys costs KuCoin quota, so not too often.
INTERVAL = 300.0
BASE_SUB_TITLE = "KuCoin API keys"


def describe(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class Watch:
    """Owned by the main screen; ``toggle()`` turns the interval on or off."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.timer: Timer | None = None
        self.interval = INTERVAL

    @property
    def on(self) -> bool:
        return self.timer is not None

    def toggle(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
            self.screen.notify("Watch mode off.")
        else:
            self.interval = INTERVAL
            self.timer = self.screen.set_interval(self.interval, self._round, name="watch")
            self.screen.notify(f"Watch mode on: every key is checked every {describe(INTERVAL)}.")
            self._round()
        self.show()

    def show(self) -> None:
        app = self.screen.app
        app.sub_title = (
            f"{BASE_SUB_TITLE} · watching: every {describe(self.interval)}"
            if self.on
            else BASE_SUB_TITLE
        )

    def _round(self) -> None:
        screen = self.screen
        if screen.checking or not screen.is_attached:
            return
        keys = list(screen.kapp.registry.keys)
        if keys:
            screen.start_checks(keys, "every key (watch)")
