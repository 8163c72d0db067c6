"""``kutui migrate --to openbao|local``: move every key, the registry and its metadata from this
home's store to the other one, verify, switch config.toml, and only then remove the source
(``kutui.ops.stores``). Run again after an interruption, it finishes the job.
"""

from __future__ import annotations

import argparse
from typing import Any

from kutui.commands.common import add_openbao_options, openbao_section


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="move the keys to OpenBao (a team's shared store) or back to a local vault",
        description="Copy every key (all its slots), the registry and its metadata to the "
        "other store, read them back and compare, switch config.toml's [store], then remove "
        "the source. Check history stays in this host's kutui.db. Interrupted, run it again.",
    )
    parser.add_argument("--to", choices=("openbao", "local"), required=True)
    add_openbao_options(parser)
    parser.set_defaults(func=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    from kutui.commands.common import interactive_prompt, load_home, notice, passphrase_file
    from kutui.errors import UsageError
    from kutui.ops import stores

    home = load_home(args)
    if args.to == "openbao":
        from kutui.store.openbao.client import Settings

        if home.is_shared:
            settings = Settings.from_config(home.config.store)
        else:
            section = openbao_section(args, "--to openbao")
            settings = Settings(
                addr=section["addr"],
                mount=section["mount"],
                prefix=section["prefix"],
                token_file=section["token_file"],
                ca_file=section["ca_file"],
            )
        moved = stores.to_openbao(
            home, settings, passphrase_file=passphrase_file(args), prompt=interactive_prompt()
        )
    else:
        from kutui.commands.common import ask_new_passphrase, is_tty
        from kutui.store.home import read_passphrase_sources

        secret = read_passphrase_sources(passphrase_file(args))
        if secret is None:
            if not is_tty():
                raise UsageError("the local vault needs a passphrase: give --passphrase-file FILE")
            secret = ask_new_passphrase("Passphrase for the local vault")
        moved = stores.to_local(home, passphrase=secret)
    notice(f"moved {moved.keys} key(s) and {moved.accounts} account(s) to {moved.target}")
    notice(f"removed the source: {moved.removed}")
    return 0
