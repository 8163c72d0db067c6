"""UnlockScreen: ask for the vault passphrase and open the vault in a thread worker.

The KDF takes about half a second, so the supplied ``unlock`` function runs in a thread worker
while a loading indicator shows. A wrong passphrase (``VaultAuthError``) keeps the screen, clears
the field and says so; any other ``KutuiError`` is shown as its one-line message. The passphrase is
typed into a ``SecretInput`` (its messages carry no value) and handed over as a ``Secret``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from kutui.errors import KutuiError, VaultAuthError
from kutui.redact import redact
from kutui.secret import Secret
from kutui.tui.screens.forms import SecretInput

VaultT = TypeVar("VaultT")

WORKER_GROUP = "unlock"


class UnlockScreen(ModalScreen[VaultT | None]):
    """Dismisses with whatever ``unlock(passphrase)`` returned (the opened vault).

    ``unlock`` runs in a thread and raises ``VaultAuthError`` for a wrong passphrase. ``hint`` is
    an extra plain-text line under the field (``kutui demo`` prints its passphrase there).
    With ``allow_cancel`` escape dismisses with ``None``; otherwise only a passphrase leaves.
    """

    DEFAULT_CSS = """
    UnlockScreen {
        align: center middle;
    }
    UnlockScreen > #unlock {
        width: 64;
        max-width: 95%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    UnlockScreen #unlock-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    UnlockScreen #unlock-where {
        color: $text-muted;
    }
    UnlockScreen #unlock-hint {
        color: $text-accent;
    }
    UnlockScreen #unlock-message {
        height: auto;
    }
    UnlockScreen #unlock-message.-error {
        color: $text-error;
    }
    UnlockScreen #unlock-keys {
        color: $text-muted;
    }
    UnlockScreen #unlock-busy {
        height: 1;
        display: none;
    }
    UnlockScreen.-busy #unlock-busy {
        display: block;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="unlock.cancel")]

    def __init__(
        self,
        unlock: Callable[[Secret], VaultT],
        *,
        vault_path: str = "",
        hint: str = "",
        allow_cancel: bool = True,
        title: str = "Unlock the kutui vault",
    ) -> None:
        super().__init__()
        self._unlock = unlock
        self._vault_path = vault_path
        self._hint = hint
        self._allow_cancel = allow_cancel
        self._title = title
        self.failed_attempts = 0
        #: Keys typed while the KDF runs: replayed to the screen below once the vault is open
        #: (they were lost before), dropped if it is not (they may be a passphrase retyped).
        self._typed_ahead: list[tuple[str, str | None]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock"):
            yield Static(self._title, id="unlock-title", markup=False)
            if self._vault_path:
                yield Static(f"Vault: {self._vault_path}", id="unlock-where", markup=False)
            yield SecretInput(placeholder="passphrase", id="passphrase")
            if self._hint:
                yield Static(self._hint, id="unlock-hint", markup=False)
            yield LoadingIndicator(id="unlock-busy")
            yield Static("", id="unlock-message", markup=False)
            keys = "enter unlock   esc cancel" if self._allow_cancel else "enter unlock"
            yield Static(keys, id="unlock-keys", markup=False)
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self.query_one(SecretInput).focus()

    @property
    def busy(self) -> bool:
        return self.has_class("-busy")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self._allow_cancel and not self.busy
        return True

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_key(self, event: events.Key) -> None:
        if self.busy:
            event.stop()
            event.prevent_default()
            self._typed_ahead.append((event.key, event.character))

    def _replay_typed_ahead(self) -> None:
        app, typed, self._typed_ahead = self.app, self._typed_ahead, []
        if not typed:
            return

        def replay() -> None:
            if app.screen is self:  # not popped yet: try again after the next refresh
                app.call_after_refresh(replay)
                return
            for key, character in typed:
                app.post_message(events.Key(key, character))

        # After the screen below has resumed (and restored its focus), in the order typed.
        app.call_after_refresh(replay)

    @on(SecretInput.Entered)
    def _submitted(self, event: SecretInput.Entered) -> None:
        event.stop()
        if self.busy:
            return
        field = self.query_one(SecretInput)
        passphrase = field.take()
        field.clear()  # the widget must not hold the passphrase while the KDF runs
        if not passphrase:
            self._show("Type the vault passphrase, then press enter.")
            return
        self._show("Deriving the key...")
        self.add_class("-busy")
        field.disabled = True
        unlock = self._unlock
        self.run_worker(
            lambda: unlock(passphrase),
            name="unlock-vault",
            group=WORKER_GROUP,
            description="open the vault",
            exclusive=True,
            exit_on_error=False,
            thread=True,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != WORKER_GROUP or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        event.stop()
        self.remove_class("-busy")
        field = self.query_one(SecretInput)
        field.disabled = False
        if event.state is WorkerState.SUCCESS:
            self._show("")
            self.dismiss(worker.result)
            self._replay_typed_ahead()
            return
        self._typed_ahead = []
        error = worker.error
        if isinstance(error, VaultAuthError):
            self.failed_attempts += 1
            self._show(f"Wrong passphrase (attempt {self.failed_attempts}). Try again.", error=True)
        elif isinstance(error, KutuiError):
            self._show(str(error), error=True)
        elif error is not None:
            # Unexpected: name the type; the text is redacted in case it quotes anything.
            self._show(
                f"Could not open the vault: {type(error).__name__}: {redact(str(error))}",
                error=True,
            )
        else:
            self._show("Unlocking was cancelled.")
        field.focus()

    def _show(self, message: str, *, error: bool = False) -> None:
        line = self.query_one("#unlock-message", Static)
        line.update(message)
        line.set_class(error, "-error")
