"""ConsumersScreen: a key's consumers, with a small form to add one and a way to remove one.

The rules and writes are ``kutui.ops.consumers``' (the CLI's ``kutui consumer add|remove``); the
screen only collects the fields and runs them in a thread worker. Nothing secret is shown here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from kutui.errors import KutuiError
from kutui.model import ApiKey, ConsumerKind
from kutui.tui.widgets.detail import consumers_text

if TYPE_CHECKING:
    from kutui.store.home import Home


class ConsumersScreen(ModalScreen[None]):
    """``ConsumersScreen(home, key)``: dismisses with ``None`` (escape)."""

    DEFAULT_CSS = """
    ConsumersScreen { align: center middle; }
    ConsumersScreen > #consumers { width: 90; max-width: 98%; height: auto; border: thick $accent;
        background: $surface; padding: 0 1; }
    ConsumersScreen #consumers-title { text-style: bold; padding: 0 0 1 0; }
    ConsumersScreen #consumers-list { padding: 0 0 1 0; }
    ConsumersScreen #consumers-message { color: $warning; padding: 1 0 0 0; }
    ConsumersScreen #consumers-buttons { height: auto; padding: 1 0 0 0; }
    ConsumersScreen #consumers-buttons Button { margin: 0 1 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="consumers.close"),
    ]

    def __init__(self, home: Home, key: ApiKey) -> None:
        super().__init__()
        self.home = home
        self.key = key

    def compose(self) -> ComposeResult:
        with Vertical(id="consumers"):
            yield Static(Text(f"Consumers of {self.key.ref}"), id="consumers-title")
            yield Static("", id="consumers-list")
            yield Input(placeholder="name (unique for this key)", id="consumer-name")
            yield Select(
                [(kind.value, kind.value) for kind in ConsumerKind],
                value=ConsumerKind.ENVFILE.value,
                allow_blank=False,
                id="consumer-kind",
            )
            yield Input(
                placeholder="path of the file (or the command, for kind command)",
                id="consumer-target",
            )
            yield Input(placeholder="passivbot: user name in api-keys.json", id="consumer-user")
            yield Input(
                placeholder="reload command (optional; gets no secret)", id="consumer-reload"
            )
            with Horizontal(id="consumers-buttons"):
                yield Button("Add", id="consumer-add", variant="primary")
                yield Button("Remove named", id="consumer-remove", variant="error")
                yield Button("Close", id="consumer-close")
            yield Static("", id="consumers-message")

    def on_mount(self) -> None:
        self._refresh()

    def _refresh(self, message: str = "") -> None:
        from kutui.ops.consumers import consumers_of

        try:
            listed = consumers_text(consumers_of(self.home, self.key))
        except KutuiError as exc:
            listed, message = Text(""), str(exc)
        self.query_one("#consumers-list", Static).update(listed or Text("No consumers yet."))
        self.query_one("#consumers-message", Static).update(Text(message))

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    @on(Button.Pressed, "#consumer-add")
    def _add(self) -> None:
        kind = str(self.query_one("#consumer-kind", Select).value)
        target = self._value("consumer-target")
        self._run(
            "add",
            name=self._value("consumer-name"),
            kind=kind,
            path=target if ConsumerKind(kind).is_file else "",
            command=target if kind == ConsumerKind.COMMAND else "",
            user=self._value("consumer-user"),
            reload=self._value("consumer-reload"),
        )

    @on(Button.Pressed, "#consumer-remove")
    def _remove(self) -> None:
        self._run("remove", name=self._value("consumer-name"))

    @on(Button.Pressed, "#consumer-close")
    def action_close(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="consumers")
    def _run(self, what: str, **fields: str) -> None:
        from kutui.ops.consumers import add_consumer, remove_consumer

        ref = str(self.key.ref)
        try:
            if what == "add":
                added = add_consumer(self.home, ref, **fields)
                message = (
                    f"Added {added.name}; it gets the key at the next rotation (or kutui deliver)."
                )
            else:
                removed = remove_consumer(self.home, ref, fields["name"])
                message = f"Removed {removed.name}; its file is left as it is."
        except KutuiError as exc:
            message = str(exc)
        self.app.call_from_thread(self._refresh, message)
