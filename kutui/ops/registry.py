"""``kutui import-registry``: replace the registry with an export (``kutui export``), in one
kutui.db transaction. Credentials are not touched: keys the export does not list leave the
registry, their vault entries stay (``kutui key list --orphans``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kutui.ops.change import Change

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.registry_export import Format


def import_registry(home: Home, text: str, fmt: Format, *, source: Path) -> Change:
    from kutui.store.registry_export import import_into
    from kutui.store.registry_export import import_registry as replace_with

    if home.is_shared:  # the registry is on OpenBao; kutui.db holds this host's history only
        before = {k.id for k in home.registry().keys}
        registry = import_into(home.update_registry, text, fmt, source=source)
    else:
        with home.store() as store:
            before = {k.id for k in store.snapshot().keys}
            registry = replace_with(store, text, fmt, source=source)
    removed = len(before - {k.id for k in registry.keys})
    notices = (
        (
            f"removed {removed} key(s) {source.name} does not list; their credentials stay in "
            "the vault ('kutui key list --orphans' lists them)",
        )
        if removed
        else ()
    )
    return Change(
        f"imported {len(registry.accounts)} account(s) and {len(registry.keys)} key(s) "
        f"from {source}",
        notices=notices,
    )
