"""ConfirmModal: a yes/no question that dismisses with ``True`` (yes) or ``False`` (no, escape)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmModal(ModalScreen[bool]):
    """Ask ``question``; ``y``/the yes button confirm, ``n``/escape/the no button decline.

    Focus starts on "No" unless ``default_yes`` so a stray enter never confirms something risky.
    ``question`` and ``title`` are shown as plain text (no markup), so any text is safe to pass.
    """

    DEFAULT_CSS = """
    ConfirmModal {
        align: center middle;
    }
    ConfirmModal > #confirm {
        width: 64;
        max-width: 95%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    ConfirmModal #confirm-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    ConfirmModal #confirm-buttons {
        height: auto;
        align-horizontal: right;
        padding: 1 0 0 0;
    }
    ConfirmModal #confirm-buttons Button {
        margin: 0 0 0 1;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
        Binding("left", "app.focus_previous", "Previous", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next", show=False, id="confirm.right"),
    ]

    def __init__(
        self,
        question: str,
        *,
        title: str = "Confirm",
        yes_label: str = "Yes",
        no_label: str = "No",
        default_yes: bool = False,
    ) -> None:
        super().__init__()
        self._question = question
        self._title = title
        self._yes_label = yes_label
        self._no_label = no_label
        self._default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self._title, id="confirm-title", markup=False)
            yield Static(self._question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(self._yes_label, id="yes", variant="warning")
                yield Button(self._no_label, id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#yes" if self._default_yes else "#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
