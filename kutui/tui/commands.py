"""The command palette: every action, named ``category: Verb``, offered according to selection.

The list is rebuilt each time the palette opens (``startup``) from the main screen's state: key
commands appear only with a key selected, "check: Cancel" only while a check runs, and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from kutui.tui.app import KutuiApp


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    help: str
    callback: Callable[[], object]
    discover: bool = False


def _run(app: KutuiApp, action: str) -> None:
    app.call_later(app.run_action, action)


def build_commands(app: KutuiApp) -> list[PaletteCommand]:
    """Every command that makes sense right now (pure: reads the app's state only)."""
    from kutui.tui.screens.main import MainScreen

    commands: list[PaletteCommand] = []

    def add(title: str, help_text: str, action: str, *, discover: bool = False) -> None:
        commands.append(PaletteCommand(title, help_text, partial(_run, app, action), discover))

    main = app.main
    key = main.selected_key if isinstance(main, MainScreen) else None
    node = main.node if isinstance(main, MainScreen) else None

    add("check: All keys", "Check every key in the registry (C)", "screen.check_all", discover=True)
    if node is not None:
        where = node.path or "every account"
        add(
            f"check: Keys under {where}",
            "Check every key of the selected node (c)",
            "screen.check_node",
            discover=True,
        )
    if key is not None:
        add(
            f"check: Key {key.ref}",
            "Check only the selected key",
            "screen.check_key",
            discover=True,
        )
        add(
            f"key: Edit permission note of {key.ref}",
            "What the key is for, expected permissions, consumers (n)",
            "screen.note",
            discover=True,
        )
        add(
            f"consumers: Add or remove those of {key.ref}",
            "Where its bots read it: add or remove a consumer",
            "screen.consumers",
        )
        add(
            f"key: Edit note of {key.ref} in $EDITOR",
            "Open the note text in your editor (e)",
            "screen.edit_note",
        )
        add(
            f"key: Reveal secret of {key.ref}",
            "Show the secret for 10 seconds (v)",
            "screen.reveal",
        )
        add(
            f"key: Copy API key of {key.ref}",
            "Copy through OSC 52; cleared after 45 s (y)",
            "screen.copy('api_key')",
        )
        for what, value, letter in (
            ("reference", str(key.ref), "R"),
            ("fingerprint", key.fingerprint, "f"),
        ):
            if value:
                add(
                    f"key: Copy {what} of {key.ref}",
                    f"Copy {value} (not secret; through OSC 52) ({letter})",
                    f"screen.yank('{what}')",
                )
        add(
            f"key: Copy API secret of {key.ref}",
            "After a confirmation; cleared after 45 s (Y)",
            "screen.copy('api_secret')",
        )
        add(
            f"key: Copy API passphrase of {key.ref}",
            "After a confirmation; cleared after 45 s (P)",
            "screen.copy('passphrase')",
        )
        add(
            f"rotation: Rotate {key.ref}",
            "Start or resume the rotation checklist (r)",
            "screen.rotate",
            discover=True,
        )
    if isinstance(main, MainScreen):
        add(
            "check: Stop watching" if main.rechecks.on else "check: Watch (re-check every key)",
            "Re-check every key on an interval; shown in the header (w)",
            "screen.watch",
        )
    if isinstance(main, MainScreen) and main.checking:
        add(
            "check: Cancel running check",
            "Stop the check in progress (escape)",
            "screen.cancel",
            discover=True,
        )
    under = node.path if node is not None and not node.is_root else ""
    add(
        f"key: Add a key under {under}" if under else "key: Add a key",
        "A new key with its credentials (a)",
        "screen.add",
    )
    add(
        f"account: Add a sub-account to {node.account}"
        if node is not None and not node.is_root
        else "account: Add an account",
        "An account at the root, or a sub-account of the selected account (A)",
        "screen.add_node",
    )
    # Edit and remove act on the selected key while the table has focus, else on the node
    # (flows.edit_selected / remove_selected).
    # The main screen's own focus: while the palette is open, the app's focus is the palette.
    target = key if key is not None and main is not None and main.focused is main.table else None
    if target is not None:
        add(f"key: Edit {target.ref}", "Edit the key's reference or credentials (u)", "screen.edit")
        add(f"key: Remove {target.ref}", "Remove the key from kutui (d)", "screen.remove")
    elif node is not None and not node.is_root:
        add(f"account: Edit {node.path}", "Edit the selected entry (u)", "screen.edit")
        add(f"account: Remove {node.path}", "Remove the selected entry (d)", "screen.remove")
    if node is not None and not node.is_root:
        add(
            f"account: Import sub-accounts of {node.account}",
            "List sub-accounts through the master key (i)",
            "screen.import_subs",
        )
    add("view: Filter keys", "Type to filter the keys table (/)", "screen.filter", discover=True)
    add("view: Focus accounts tree", "Move focus to the tree (h)", "screen.focus_tree")
    add("view: Focus keys table", "Move focus to the table (l)", "screen.focus_table")
    add(
        "theme: Choose theme",
        "Pick a theme; the choice is remembered (F2)",
        "app.pick_theme",
        discover=True,
    )
    for name in sorted(app.available_themes):
        current = " (current)" if name == app.theme else ""
        add(
            f"theme: Use {name}{current}",
            f"Switch to the {name} theme",
            f"app.set_theme('{name}')",
        )
    add(
        "vault: Lock",
        "Drop the decrypted data and ask for the passphrase (ctrl+l)",
        "app.lock",
        discover=True,
    )
    add("app: Help", "Keys and what they do (? or F1)", "app.help", discover=True)
    add("app: Save screenshot", "Save an SVG of the screen (F9)", "app.save_svg")
    add("app: Quit", "Leave kutui (q)", "app.quit")
    for account in app.registry.accounts:
        add(
            f"account: Jump to {account.name}",
            "Select the account in the tree",
            f"screen.jump('{account.name}', '')",
        )
        for sub in account.subaccounts:
            add(
                f"account: Jump to {account.name}/{sub.name}",
                "Select the sub-account",
                f"screen.jump('{account.name}', '{sub.name}')",
            )
    return commands


def pick_theme(app: KutuiApp) -> None:
    """F2: every theme, the current one first and marked (Textual's own picker marks none)."""
    from textual.command import SimpleCommand

    names = sorted(app.available_themes, key=lambda n: (n != app.theme, n))
    app.search_commands(
        [
            SimpleCommand(
                f"{name}  ✓ current" if name == app.theme else name,
                partial(app.action_set_theme, name),
                "the theme in use" if name == app.theme else "",
            )
            for name in names
        ],
        placeholder="Search for themes…",
    )


class KutuiCommands(Provider):
    async def startup(self) -> None:
        self._commands = build_commands(cast("KutuiApp", self.app))

    async def discover(self) -> Hits:
        for command in self._commands:
            if command.discover:
                yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.callback,
                    text=command.title,
                    help=command.help,
                )
