"""The user's ``[keymap]`` (config.toml): which binding ids exist, and which given ones do not."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from textual.binding import Binding

#: The modal and secondary screens whose bindings may be remapped (module -> class).
SCREENS = {
    "confirm": "ConfirmModal",
    "unlock": "UnlockScreen",
    "notes": "NotesEditor",
    "reveal": "RevealScreen",
    "help": "HelpScreen",
    "rotation": "RotationScreen",
    "error": "ErrorModal",
}


def _screen_classes() -> Iterable[type[Any]]:
    for module, name in SCREENS.items():
        try:
            mod = importlib.import_module(f"kutui.tui.screens.{module}")
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if isinstance(cls, type):
            yield cls


def known_binding_ids(app_class: type[Any]) -> set[str]:
    """Every binding id a user may rebind in ``[keymap]``: the app's, the main screen's and its
    widgets', and the other screens'."""
    from kutui.tui.screens.main import MainScreen
    from kutui.tui.widgets.account_tree import AccountTree
    from kutui.tui.widgets.keys_table import KeysTable

    classes: list[type[Any]] = [app_class, MainScreen, KeysTable, AccountTree, *_screen_classes()]
    return {
        binding.id
        for cls in classes
        for binding in getattr(cls, "BINDINGS", [])
        if isinstance(binding, Binding) and binding.id
    }


def usable(keymap: Mapping[str, str], known: set[str]) -> tuple[dict[str, str], str]:
    """(the entries whose id exists, one line naming the others or "")."""
    unknown = sorted(set(keymap) - known)
    problem = (
        "Unknown binding id(s) in [keymap] of config.toml: "
        + ", ".join(unknown)
        + " (see the help screen, ? or F1, for the ids)"
        if unknown
        else ""
    )
    return {k: v for k, v in keymap.items() if k not in unknown}, problem
