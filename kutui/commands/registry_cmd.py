"""``kutui export`` and ``kutui import-registry FILE``: the registry as text, for people and git.

The text is today's accounts.toml shape (TOML) or the same document as JSON
(``kutui.store.registry_export``, docs/storage.md "Export and import"). Nothing in it is secret:
the credentials stay in the vault. An import is validated by the strict accounts.toml reader
first; a bad file is one line naming the file and the key, exit 2, and nothing changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

FORMATS = ("toml", "json")


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="print the registry (accounts, sub-accounts, keys, notes) as TOML or JSON",
        description="Print the registry on stdout in accounts.toml's shape (TOML) or as JSON. "
        "No secret is in it: the credentials stay in the vault.",
    )
    export.add_argument("--format", choices=FORMATS, default="toml", help="default: toml")
    export.add_argument(
        "--no-checks",
        action="store_true",
        help="leave out each key's last check (what this host saw; it churns)",
    )
    export.set_defaults(func=run_export)
    imp = subparsers.add_parser(
        "import-registry",
        help="make the registry the one in FILE (from 'kutui export')",
        description="Replace the registry with the one in FILE, validated first (a bad file "
        "changes nothing). Keys FILE leaves out are removed with their history; their "
        "credentials stay in the vault ('kutui key list --orphans' lists them). A key without "
        "a last check keeps the one kutui has.",
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--format", choices=FORMATS, help="default: json for a .json file, else toml")
    imp.set_defaults(func=run_import_registry)


def run_export(args: argparse.Namespace) -> int:
    import sys

    from kutui.commands.common import load_home
    from kutui.store.registry_export import export_registry

    home = load_home(args)
    if home.is_shared:  # the registry is on OpenBao; kutui.db holds this host's history only
        from kutui.store.registry_export import export_text

        text = export_text(home.registry(), args.format, checks=not args.no_checks)
    else:
        with home.store() as store:
            text = export_registry(store, args.format, checks=not args.no_checks)
    sys.stdout.write(text)
    return 0


def _read_text(path: Path) -> str:
    from kutui.errors import RegistryError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(path, f"is not UTF-8 text (byte {exc.start})") from None


def run_import_registry(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice
    from kutui.store.registry_export import Format, import_registry

    path = Path(args.file).expanduser()
    fmt: Format = args.format or ("json" if path.suffix.lower() == ".json" else "toml")
    text = _read_text(path)
    home = load_home(args)
    if home.is_shared:
        from kutui.store.registry_export import import_into

        before = {k.id for k in home.registry().keys}
        registry = import_into(home.update_registry, text, fmt, source=path)
    else:
        with home.store() as store:
            before = {k.id for k in store.snapshot().keys}
            registry = import_registry(store, text, fmt, source=path)
    removed = len(before - {k.id for k in registry.keys})
    notice(
        f"imported {len(registry.accounts)} account(s) and {len(registry.keys)} key(s) from {path}"
    )
    if removed:
        notice(
            f"removed {removed} key(s) {path.name} does not list; their credentials stay in "
            "the vault ('kutui key list --orphans' lists them)"
        )
    return 0
