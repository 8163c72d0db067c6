"""``kutui vault passwd``: set or change the vault passphrase (re-wraps the data key only)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("vault", help="vault maintenance (passphrase)")
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    passwd = sub.add_parser(
        "passwd",
        help="set or change the vault passphrase",
        description="Unlock the vault (keyring, --passphrase-file, $CREDENTIALS_DIRECTORY or the "
        "terminal), then re-wrap its data key under a new passphrase asked twice on the terminal "
        "or read from --new-passphrase-file. The encrypted keys are not re-encrypted. Old "
        "backups (vault.kv1.bak.N) still open with the old passphrase.",
    )
    passwd.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        help="read the new passphrase from FILE's first line",
    )
    passwd.set_defaults(func=run_passwd)


def run_passwd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kutui.commands.common import ask_new_passphrase, is_tty, load_home, notice, open_vault
    from kutui.errors import UsageError
    from kutui.store.home import read_passphrase_file
    from kutui.store.kdf import params_from_config

    home = load_home(args)
    if args.new_passphrase_file:
        new = read_passphrase_file(Path(args.new_passphrase_file).expanduser())
    elif is_tty():
        new = None
    else:
        raise UsageError("give --new-passphrase-file FILE, or run on a terminal to be asked")
    vault = open_vault(args, home)
    if new is None:
        new = ask_new_passphrase("New vault passphrase")
    settings = home.config.vault
    kdf = params_from_config(
        settings.kdf,
        settings.argon2_memory_mib,
        settings.argon2_iterations,
        settings.argon2_lanes,
        settings.scrypt_log_n,
    )
    vault.set_passphrase(new, kdf)
    home.note_vault_generation(vault)
    notice(f"the vault passphrase of {vault.path} is changed")
    backups = sorted(vault.path.parent.glob(f"{vault.path.name}.bak.*"))
    if backups:
        notice(
            f"{len(backups)} backup(s) ({vault.path.name}.bak.N) still open with the old "
            "passphrase; delete them if the old one leaked"
        )
    return 0
