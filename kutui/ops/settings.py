"""What the TUI remembers between runs in state.toml (the theme)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.state import AppState


def remember_theme(home: Home, name: str) -> None:
    def update(state: AppState) -> None:
        state.theme = name

    home.update_state(update)
