"""NotesEditor: edit a key's permission note (text, expected permissions, consumers).

F2 hands the text to ``$VISUAL``/``$EDITOR`` through ``kutui.tui.editor``.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    ListItem,
    ListView,
    Static,
    TextArea,
)

from kutui.model import PERMISSIONS, PermissionNote, clean_pasted
from kutui.text import clean_text
from kutui.tui.editor import EditorError, edit_text_in_editor

MAX_CONSUMER_LENGTH = 200


class MarkedCheckbox(Checkbox):
    """A checkbox whose state shows as a glyph too ("X" or blank), not by colour alone."""

    def __init__(self, label: str, value: bool, *, id: str) -> None:  # noqa: A002
        super().__init__(label, value, id=id, compact=True)
        self.BUTTON_INNER = "X" if value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()
        self.refresh()


class ConsumerList(ListView):
    """The consumer lines; delete, backspace or x removes the highlighted one."""

    BINDINGS = [
        Binding("delete,backspace,x", "remove_line", "Remove consumer", id="notes.remove-consumer")
    ]

    def lines(self) -> tuple[str, ...]:
        return tuple(item.name or "" for item in self.query_children(ListItem))

    def add_line(self, consumer: str) -> None:
        self.append(ListItem(Label(consumer, markup=False), name=consumer))

    def action_remove_line(self) -> None:
        if self.index is not None and 0 <= self.index < len(self):
            self.pop(self.index)


class NotesEditor(ModalScreen[PermissionNote | None]):
    """Dismisses with the edited ``PermissionNote``, or ``None`` on escape.

    Keys: tab/shift+tab move between the text, the permission checkboxes (space/enter toggle),
    the consumer field (enter adds a line) and the consumer list (delete removes the highlighted
    line); ctrl+s saves; f2 or ctrl+o edits the text in ``$EDITOR``; escape cancels.
    Permissions in ``note`` that kutui does not know are kept and shown as extra checkboxes.
    """

    DEFAULT_CSS = """
    NotesEditor {
        align: center middle;
    }
    NotesEditor > #notes {
        width: 90;
        max-width: 98%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    NotesEditor #notes-title {
        text-style: bold;
    }
    NotesEditor .notes-section {
        text-style: bold;
        color: $text-accent;
        margin: 1 0 0 0;
    }
    NotesEditor #note-text {
        height: 6;
    }
    NotesEditor #permissions {
        grid-size: 3;
        grid-gutter: 0 1;
        height: auto;
    }
    NotesEditor #consumer-row {
        height: auto;
    }
    NotesEditor #consumer-input {
        width: 1fr;
    }
    NotesEditor #consumers {
        height: auto;
        max-height: 6;
        min-height: 1;
        border: none;
    }
    NotesEditor #notes-help {
        color: $text-muted;
    }
    NotesEditor #notes-buttons {
        height: auto;
        align-horizontal: right;
    }
    NotesEditor #notes-buttons Button {
        margin: 0 0 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="notes.cancel"),
        Binding("ctrl+s", "save", "Save", id="notes.save"),
        Binding("f2,ctrl+o", "external_editor", "Edit in $EDITOR", id="notes.editor"),
    ]

    def __init__(
        self,
        note: PermissionNote | None = None,
        *,
        title: str = "Permission note",
        editor: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self._note = note or PermissionNote()
        self._title = title
        self._editor = list(editor) if editor else None
        known = set(PERMISSIONS)
        extra = [p for p in self._note.expected_permissions if p not in known]
        self._permissions: tuple[str, ...] = (*PERMISSIONS, *extra)
        self._initial_consumers = tuple(dict.fromkeys(self._note.consumers))

    def compose(self) -> ComposeResult:
        expected = set(self._note.expected_permissions)
        with Vertical(id="notes"):
            yield Static(self._title, id="notes-title", markup=False)
            with VerticalScroll(id="notes-body", can_focus=False):
                yield Label("What is this key for?", classes="notes-section")
                yield TextArea(self._note.text, id="note-text", tab_behavior="focus")
                yield Label("Expected permissions", classes="notes-section")
                with Grid(id="permissions"):
                    for index, name in enumerate(self._permissions):
                        yield MarkedCheckbox(name, name in expected, id=f"perm-{index}")
                yield Label("Consumers (programs or hosts using the key)", classes="notes-section")
                with Horizontal(id="consumer-row"):
                    yield Input(placeholder="add a consumer, enter", id="consumer-input")
                yield ConsumerList(
                    *(ListItem(Label(c, markup=False), name=c) for c in self._initial_consumers),
                    id="consumers",
                )
            yield Static(
                "ctrl+s save  esc cancel  f2 $EDITOR  del remove consumer",
                id="notes-help",
                markup=False,
            )
            with Horizontal(id="notes-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self.query_one("#note-text", TextArea).focus()

    # ----------------------------------------------------------------------- consumers

    @on(Input.Submitted, "#consumer-input")
    def _add_consumer(self, event: Input.Submitted) -> None:
        event.stop()
        field = self.query_one("#consumer-input", Input)
        consumer = clean_pasted(field.value)[:MAX_CONSUMER_LENGTH]
        field.clear()
        consumers = self.query_one("#consumers", ConsumerList)
        if consumer and consumer not in consumers.lines():
            consumers.add_line(consumer)

    # ----------------------------------------------------------------------- result

    def note(self) -> PermissionNote:
        """The note as currently edited."""
        chosen = tuple(
            name
            for index, name in enumerate(self._permissions)
            if self.query_one(f"#perm-{index}", Checkbox).value
        )
        # Typed, pasted or written by $EDITOR: cleaned before it is stored (kutui/text.py).
        text = clean_text(self.query_one("#note-text", TextArea).text, multiline=True).rstrip()
        consumers = self.query_one("#consumers", ConsumerList).lines()
        return PermissionNote(
            text=text,
            expected_permissions=chosen,
            consumers=tuple(c for c in (clean_text(c) for c in consumers) if c),
        )

    def action_save(self) -> None:
        self.dismiss(self.note())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_external_editor(self) -> None:
        area = self.query_one("#note-text", TextArea)
        try:
            edited = edit_text_in_editor(self.app, area.text, command=self._editor)
        except (EditorError, SuspendNotSupported) as err:
            self.notify(str(err), severity="error", markup=False)
            return
        area.load_text(edited.rstrip("\n"))
        area.focus()

    @on(Button.Pressed, "#save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()
