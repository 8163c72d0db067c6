"""``kutui locate config|data|state|vault|db|...``: print where a kutui file or directory is."""

from __future__ import annotations

import argparse
from typing import Any

WHAT = ("config", "data", "state", "vault", "db", "themes", "accounts", "log")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "locate",
        help="print the path of a kutui file or directory",
        description="Print the path of config.toml, the data or state directory, the vault, "
        "kutui.db (the registry and check history), the themes directory, accounts.toml (the "
        "registry before kutui.db) or the log file (it may not exist yet).",
    )
    parser.add_argument("what", choices=WHAT)
    parser.set_defaults(func=run_locate)


def run_locate(args: argparse.Namespace) -> int:
    from kutui.paths import Paths

    # Paths only: locating must work even when config.toml is broken.
    paths = Paths.resolve(args.home)
    where = {
        "config": paths.config,
        "data": paths.data_dir,
        "state": paths.state_dir,
        "vault": paths.vault,
        "db": paths.db,
        "themes": paths.themes_dir,
        "accounts": paths.accounts,
        "log": paths.log,
    }[args.what]
    print(where)
    return 0
