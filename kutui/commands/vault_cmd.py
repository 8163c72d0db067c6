"""``kutui vault passwd``: set or change the vault passphrase, under a fresh data key."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.vault import Vault


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("vault", help="vault maintenance (passphrase)")
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    passwd = sub.add_parser(
        "passwd",
        help="set or change the vault passphrase",
        description="Unlock the vault (keyring, --passphrase-file, $CREDENTIALS_DIRECTORY or the "
        "terminal), then re-encrypt it under a fresh data key wrapped by a new passphrase asked "
        "twice on the terminal or read from --new-passphrase-file (the keyring unlock, if any, is "
        "kept). Old backups (vault.kv1.bak.N) still open with the old passphrase: on a terminal "
        "kutui offers to delete them; --remove-backups deletes them without asking.",
    )
    passwd.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        help="read the new passphrase from FILE's first line",
    )
    passwd.add_argument(
        "--remove-backups",
        action="store_true",
        help="delete the vault's backups afterwards (they open with the old passphrase)",
    )
    passwd.set_defaults(func=run_passwd)


def _keyring_kek(home: Home, vault: Vault) -> bytes | None:
    """The key the OS keyring holds for this vault, so its stanza can be re-wrapped; None (with a
    warning) when it cannot be had: the new data key then opens with the passphrase only."""
    from kutui.commands.common import warn

    if not vault.has_keyring_stanza:
        return None
    kek, why = home.keyring_kek(vault.uuid)
    if kek is None:
        warn(
            f"the OS keyring's key could not be read ({why}); after this change the vault opens "
            "with the passphrase only"
        )
    return kek


def run_passwd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kutui.commands.common import ask_new_passphrase, is_tty, load_home, notice, open_vault
    from kutui.errors import UsageError
    from kutui.ops.vault import change_passphrase
    from kutui.store.home import read_passphrase_file

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
    notice(change_passphrase(home, vault, new, _keyring_kek(home, vault)).summary)
    _offer_backup_removal(vault, remove=args.remove_backups)
    return 0


def _offer_backup_removal(vault: Vault, *, remove: bool) -> None:
    from kutui.commands.common import is_tty, notice

    backups = vault.backup_files()
    if not backups:
        return
    what = (
        f"{len(backups)} backup(s) ({vault.path.name}.bak.1..{len(backups)}) still open with the "
        "old passphrase"
    )
    if not remove and is_tty():
        answer = input(f"{what}. Delete them now? [y/N] ")
        remove = answer.strip().lower() in ("y", "yes")
    if remove:
        from kutui.ops.vault import remove_backups

        notice(remove_backups(vault).summary)
    else:
        notice(f"{what}; if the old one leaked, delete them: rm {vault.path}.bak.*")
