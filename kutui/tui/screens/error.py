"""ErrorModal: long error details in a scrollable box; ``c`` copies them, any other key closes."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from kutui.redact import redact

#: Keys that scroll the text instead of closing the modal.
SCROLL_KEYS = frozenset(
    {"up", "down", "pageup", "pagedown", "home", "end", "j", "k", "tab", "shift+tab"}
)


class ErrorModal(ModalScreen[None]):
    """Show ``text`` (passed through ``redact`` and shown without markup) under ``title``.

    Arrow/page keys scroll; ``c`` copies the text to the clipboard (OSC 52); any other key closes.
    """

    DEFAULT_CSS = """
    ErrorModal {
        align: center middle;
    }
    ErrorModal > #error {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $error;
        background: $surface;
        padding: 0 1;
    }
    ErrorModal #error-title {
        text-style: bold;
        color: $text-error;
    }
    ErrorModal #error-scroll {
        height: auto;
        max-height: 30;
    }
    ErrorModal #error-hint {
        color: $text-muted;
        padding: 1 0 0 0;
    }
    """

    BINDINGS = [
        Binding("c", "copy", "Copy", id="error.copy"),
        Binding("escape", "close", "Close", id="error.close"),
    ]

    def __init__(self, text: str, *, title: str = "Error") -> None:
        super().__init__()
        self._text = redact(text)
        self._title = redact(title)

    @property
    def text(self) -> str:
        return self._text

    def compose(self) -> ComposeResult:
        with Vertical(id="error"):
            yield Static(self._title, id="error-title", markup=False)
            with VerticalScroll(id="error-scroll"):
                yield Static(self._text, id="error-text", markup=False)
            yield Static("c copy   any other key close", id="error-hint", markup=False)
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self.query_one("#error-scroll").focus()

    def on_key(self, event: events.Key) -> None:
        # Bindings run after the key bubbles, so this sees every key first.
        if event.key in SCROLL_KEYS:
            return
        event.stop()
        event.prevent_default()
        if event.key == "c":
            self.action_copy()
        else:
            self.action_close()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text)
        self.notify("Error text copied to the clipboard (OSC 52)", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
