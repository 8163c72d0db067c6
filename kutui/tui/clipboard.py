"""Copying credentials over OSC 52, and clearing the clipboard again after 45 s (best effort).

``App.copy_to_clipboard`` writes an OSC 52 sequence that travels through SSH, tmux and the
terminal (docs/security.md, "On screen and on the clipboard"). The API key is copied at once; the
API secret or passphrase only after a ``ConfirmModal``. Every credential copy starts a timer that
copies an empty string, which asks the terminal to drop the selection and resets the app's
in-process copy. Terminals, tmux paste buffers and clipboard managers may keep their own copy, so
the notice says "best effort". A later copy of something else is left alone: the timer only clears
what it put there.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.timer import Timer

from kutui.secret import Secret
from kutui.tui.screens.confirm import ConfirmModal

CLEAR_AFTER_SECONDS = 45.0
BEST_EFFORT = "best effort: tmux buffers, terminal history and clipboard managers may keep a copy"


class SecretClipboard:
    """One per app. ``clear_after`` is the delay before the clipboard is cleared (45 s)."""

    def __init__(self, app: App[Any], *, clear_after: float = CLEAR_AFTER_SECONDS) -> None:
        self._app = app
        self._clear_after = clear_after
        self._timer: Timer | None = None
        self._copied: Secret | None = None

    @property
    def pending(self) -> bool:
        """A credential was copied and the clear timer has not run yet."""
        return self._timer is not None

    def copy_api_key(self, api_key: Secret, *, label: str) -> None:
        """Copy the API key at once (it is only half a credential) and schedule the clear."""
        self._copy(api_key, f"API key of {label}")

    def copy_with_confirm(
        self,
        value: Secret,
        *,
        what: str,
        label: str,
        on_done: Callable[[bool], None] | None = None,
    ) -> None:
        """Ask first, then copy ``value`` (``what``: "API secret", "API passphrase")."""
        question = (
            f"Copy the {what} of {label} to the clipboard?\n\n"
            "It is sent to your terminal as an OSC 52 sequence (through SSH and tmux). "
            f"kutui clears the clipboard after {self._seconds} s ({BEST_EFFORT})."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._copy(value, f"{what} of {label}")
            if on_done is not None:
                on_done(bool(yes))

        self._app.push_screen(
            ConfirmModal(question, title=f"Copy the {what}?", yes_label="Copy"), answered
        )

    def clear(self, *, announce: bool = True) -> None:
        """Clear now if a credential copied by kutui may still be on the clipboard."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        copied, self._copied = self._copied, None
        if copied is None:
            return
        # Only clear what we put there: a later copy of something else stays.
        if hmac.compare_digest(self._app.clipboard.encode(), copied.reveal().encode()):
            # An empty OSC 52 payload clears the selection in xterm-like terminals, and this
            # public call also resets the app's in-process copy (App.clipboard).
            self._app.copy_to_clipboard("")
            if announce:
                self._app.notify(f"Clipboard cleared ({BEST_EFFORT}).", markup=False)

    @property
    def _seconds(self) -> str:
        return f"{self._clear_after:g}"

    def _copy(self, value: Secret, description: str) -> None:
        self._app.copy_to_clipboard(value.reveal())
        self._copied = value
        if self._timer is not None:
            self._timer.stop()
        self._timer = self._app.set_timer(self._clear_after, self._clear_due, name="clipboard")
        self._app.notify(
            f"Copied the {description}. The clipboard will be cleared in {self._seconds} s "
            f"({BEST_EFFORT}).",
            title="Copied",
            markup=False,
            timeout=min(self._clear_after, 10.0),
        )

    def _clear_due(self) -> None:
        self._timer = None
        self.clear()


def copy_plain(app: App[Any], value: str, what: str) -> None:
    """Yank something that is not secret (a key's reference, its fingerprint): at once, and
    never cleared (nothing to protect)."""
    app.copy_to_clipboard(value)
    app.notify(f"Copied the {what}: {value}", markup=False)
