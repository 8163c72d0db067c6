"""HelpScreen: the active key bindings of the screen below, grouped, plus tips for SSH use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import groupby

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static

from kutui.tui.widgets.keys_table import PERMISSION_CODES

PERMISSION_LEGEND = ", ".join(f"`{code}` {name}" for name, code in PERMISSION_CODES.items())

SSH_HELP = f"""\
## Filter and sort

`/` filters by words (label, fingerprint, status, permissions, IP) and by terms:
`status:failing`, `status:bad_passphrase` (or a part: `status:bad`), `perm:withdrawal`; all must
match, e.g. `alpha status:ip_denied`. `F` shows failing keys only; `]` / `[` jump to the next /
previous failing key; `o` sorts by the next column (Status: by severity, failing first), `O`
reverses; the headers show ▲ / ▼ and "(failing)". While KuCoin cannot be reached a key keeps
its last definite status, marked "stale".

## Over SSH

**Clipboard.** Copies use OSC 52: the terminal puts the text on your local clipboard, also
through SSH. tmux needs `set -g set-clipboard on` (which also keeps a tmux paste buffer), screen
and some terminals ignore OSC 52 (macOS Terminal does). Secrets are copied only after a
confirmation, and kutui clears the clipboard after 45 s: best effort, since clipboard managers
and tmux buffers may keep a copy.

**Colours.** SSH does not forward `COLORTERM`, so truecolor may be lost: set
`COLORTERM=truecolor` (or `SendEnv`/`AcceptEnv COLORTERM`), or `TEXTUAL_COLOR_SYSTEM`.
`NO_COLOR=1` gives a monochrome screen; status is always shown as text too.

**Mouse.** `kutui --no-mouse` leaves the mouse to the terminal, so its own selection works.
Every action has a key.

**Keys.** If a key does not arrive (tmux, VS Code), rebind it by id in `[keymap]` of
config.toml; the ids are listed above.

## Keys table

**Perm** has one letter per permission KuCoin reported: {PERMISSION_LEGEND}
("≠DRIFT": not the permissions it should have). A cell cut to fit the width ends in "…"; the
detail pane below shows the key in full.
"""


def group_title(node: DOMNode) -> str:
    """``BINDING_GROUP_TITLE`` when the node sets one, else a readable class name."""
    if node.BINDING_GROUP_TITLE:
        return node.BINDING_GROUP_TITLE
    from textual.app import App  # local: only for the isinstance check

    if isinstance(node, App):
        return "Everywhere"
    return type(node).__name__


class HelpScreen(ModalScreen[None]):
    """Lists ``bindings`` (default: the active bindings of the screen below) and ``markdown``.

    Bindings without a description are left out; bindings for the same action are merged.
    The table shows each binding's id so users can rebind it in ``[keymap]``.
    """

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help {
        width: 100;
        max-width: 98%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title {
        text-style: bold;
    }
    HelpScreen #help-scroll {
        height: 1fr;
    }
    HelpScreen #help-hint {
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape,q,f1,question_mark", "close", "Close help", id="help.close"),
        Binding("j,down", "help_scroll('down')", "Scroll", show=False, id="help.down"),
        Binding("k,up", "help_scroll('up')", "Scroll up", show=False, id="help.up"),
        Binding("g,home", "help_scroll('home')", "Top", show=False, id="help.top"),
        Binding("G,end", "help_scroll('end')", "Bottom", show=False, id="help.bottom"),
    ]

    def __init__(
        self,
        bindings: Mapping[str, ActiveBinding] | None = None,
        *,
        markdown: str = SSH_HELP,
        title: str = "kutui help",
    ) -> None:
        super().__init__()
        self._given_bindings = bindings
        self._markdown = markdown
        self._title = title

    def _screen_below(self) -> Mapping[str, ActiveBinding]:
        stack = self.app.screen_stack
        below = [s for s in stack if s is not self]
        return below[-1].active_bindings if below else {}

    def binding_rows(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """``[(group, [(keys, description, id), ...]), ...]`` in binding-chain order."""
        active: Iterable[ActiveBinding] = (
            self._given_bindings if self._given_bindings is not None else self._screen_below()
        ).values()
        groups: list[tuple[str, list[tuple[str, str, str]]]] = []
        for node, members in groupby(active, key=lambda ab: ab.node):
            by_action: dict[str, list[Binding]] = {}
            for item in members:
                binding = item.binding
                if binding.system or not binding.description:
                    continue
                by_action.setdefault(binding.action, []).append(binding)
            rows = []
            for same in by_action.values():
                keys = " ".join(dict.fromkeys(self.app.get_key_display(b) for b in same))
                rows.append((keys, same[0].description, same[0].id or ""))
            if rows:
                groups.append((group_title(node), rows))
        return groups

    def _table(self) -> Table:
        table = Table(box=None, expand=True, show_header=True, pad_edge=False)
        table.add_column(Text("Key"), style="bold", no_wrap=True)
        table.add_column(Text("Action"))
        table.add_column(Text("Id (for [keymap])"), style="dim", no_wrap=True)
        groups = self.binding_rows()
        for group, rows in groups:
            table.add_row(Text(group, style="bold underline"), "", "")
            for keys, description, binding_id in rows:
                table.add_row(Text(keys), Text(description), Text(binding_id))
            table.add_row("", "", "")
        if not groups:
            table.add_row("", Text("No key bindings are active here."), "")
        return table

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(self._title, id="help-title", markup=False)
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-bindings")
                yield Markdown(self._markdown, id="help-markdown")
            yield Static(
                "j/k or up/down scroll   g/G top/bottom   esc close", id="help-hint", markup=False
            )
        yield Footer()  # this dialog's keys, not the screen's below

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_help_scroll(self, where: str) -> None:
        # vim keys as in the tables (j/k/g/G), wherever focus is inside the help.
        pane = self.query_one("#help-scroll", VerticalScroll)
        moves = {
            "down": pane.scroll_down,
            "up": pane.scroll_up,
            "home": pane.scroll_home,
            "end": pane.scroll_end,
        }
        moves[where](animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
