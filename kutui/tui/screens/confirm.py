"""ConfirmModal: a yes/no question that dismisses with ``True`` (yes) or ``False`` (no, escape).

ReasonModal: a reason for a risky step (skip, abort), shown before it is stored.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from kutui.text import clean_text


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
                # The keys are on the buttons: y and n answer wherever focus is.
                yield Button(f"{self._yes_label} (y)", id="yes", variant="warning")
                yield Button(f"{self._no_label} (n)", id="no", variant="primary")
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self.query_one("#yes" if self._default_yes else "#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")


class ReasonModal(ModalScreen[str | None]):
    """Ask why (skip a step, abort a rotation); dismisses with the reason, or ``None``.

    The reason is typed into a field that starts empty, so nothing typed before the dialog opened
    lands in it. Enter does not store it: it moves to the confirming button, with the reason
    shown above, so a second, deliberate enter (or a click) is needed.
    """

    DEFAULT_CSS = """
    ReasonModal {
        align: center middle;
    }
    ReasonModal > #reason {
        width: 72;
        max-width: 95%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    ReasonModal #reason-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    ReasonModal #reason-input {
        margin: 1 0 0 0;
    }
    ReasonModal #reason-shown {
        padding: 1 0 0 0;
        color: $text-warning;
    }
    ReasonModal #reason-buttons {
        height: auto;
        align-horizontal: right;
        padding: 1 0 0 0;
    }
    ReasonModal #reason-buttons Button {
        margin: 0 0 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="reason.cancel"),
    ]

    def __init__(self, question: str, *, title: str, yes_label: str) -> None:
        super().__init__()
        self._question = question
        self._title = title
        self._yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(id="reason"):
            yield Static(self._title, id="reason-title", markup=False)
            yield Static(self._question, id="reason-question", markup=False)
            yield Input(placeholder="reason (kept in the checklist)", id="reason-input")
            yield Static(
                "Type a reason, then enter.   esc cancels", id="reason-shown", markup=False
            )
            with Horizontal(id="reason-buttons"):
                yield Button(self._yes_label, id="yes", variant="warning", disabled=True)
                yield Button("Cancel", id="no", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reason-input").focus()

    @property
    def reason(self) -> str:
        return clean_text(self.query_one("#reason-input", Input).value).strip()

    @on(Input.Changed)
    def _changed(self) -> None:
        reason = self.reason
        self.query_one("#yes", Button).disabled = not reason
        self.query_one("#reason-shown", Static).update(
            f"Reason to be stored: {reason}" if reason else "Type a reason, then enter."
        )

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        if self.reason:
            self.query_one("#reason-shown", Static).update(
                f"Reason to be stored: {self.reason}\n"
                f"Enter on “{self._yes_label}” stores it; shift+tab edits it; esc cancels."
            )
            self.query_one("#yes", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes" and self.reason:
            self.dismiss(self.reason)
        else:
            self.dismiss(None)
