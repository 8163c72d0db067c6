"""``kutui account add|list|remove``: KuCoin master accounts and their sub-accounts."""

from __future__ import annotations

import argparse
from typing import Any

from kutui.commands.common import add_json_flag, add_yes_flag


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "account",
        help="add, list or remove accounts and sub-accounts",
        description="Manage KuCoin master accounts (NAME) and sub-accounts (NAME/SUB).",
    )
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="add an account (NAME) or a sub-account (NAME/SUB)")
    add.add_argument("name", metavar="NAME[/SUB]")
    add.add_argument("--api-url", metavar="URL", help="API base URL (default: config.toml's)")
    add.add_argument("--remark", default="", help="a note shown next to the account")
    add.set_defaults(func=run_add)

    lst = sub.add_parser("list", help="list accounts, sub-accounts and key counts")
    add_json_flag(lst)
    lst.set_defaults(func=run_list)

    rm = sub.add_parser(
        "remove",
        help="remove an account or sub-account",
        description="Remove an account (NAME) or sub-account (NAME/SUB). Refuses while keys remain "
        "under it unless --force, which also deletes those keys' credentials from the vault.",
    )
    rm.add_argument("name", metavar="NAME[/SUB]")
    rm.add_argument("--force", action="store_true", help="also remove the keys under it")
    add_yes_flag(rm)
    rm.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice
    from kutui.errors import UsageError
    from kutui.ops import accounts

    home = load_home(args)
    account_name, sub_name = accounts.parse_owner(args.name)
    if args.api_url is not None:
        problem = accounts.url_problem(args.api_url)
        if problem:
            raise UsageError(f"--api-url: {problem}")
    if sub_name and args.api_url is not None:
        raise UsageError("--api-url belongs to the master account, not to a sub-account")
    if sub_name:
        change = accounts.add_subaccount(
            home, account_name, sub_name, remark=args.remark, create_account=True
        )
    else:
        change = accounts.add_account(home, account_name, args.api_url, remark=args.remark)
    notice(change.summary)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, print_json, print_table

    registry = load_home(args).registry()
    counts = registry.key_counts()
    if args.json:
        print_json(
            [
                {
                    "name": a.name,
                    "api_url": a.api_url,
                    "uid": a.uid,
                    "remark": a.remark,
                    "keys": counts[a.name, ""],
                    "subaccounts": [
                        {
                            "name": s.name,
                            "uid": s.uid,
                            "remark": s.remark,
                            "keys": counts[a.name, s.name],
                        }
                        for s in a.subaccounts
                    ],
                }
                for a in registry.accounts
            ]
        )
        return 0
    rows: list[list[object]] = []
    for account in registry.accounts:
        rows.append(
            [
                account.name,
                counts[account.name, ""],
                account.api_url,
                account.remark,
            ]
        )
        for sub in account.subaccounts:
            rows.append(
                [
                    f"{account.name}/{sub.name}",
                    counts[account.name, sub.name],
                    "",
                    sub.remark,
                ]
            )
    if not rows:
        print(
            "no accounts yet: add one with 'kutui account add NAME' or 'kutui key add NAME/LABEL'"
        )
        return 0
    print_table(["ACCOUNT", "KEYS", "API URL", "REMARK"], rows)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from kutui.commands.common import confirm, load_home, notice, open_vault
    from kutui.ops import accounts
    from kutui.rotation.store import refuse_open_rotation

    home = load_home(args)
    account_name, sub_name = accounts.parse_owner(args.name)
    label = f"{account_name}/{sub_name}" if sub_name else account_name
    keys = accounts.refuse_removal(home.registry(), account_name, sub_name, force=args.force)
    refuse_open_rotation(home.paths.rotations_dir, keys)  # before asking
    question = f"Remove {label}" + (
        f" and its {len(keys)} key(s), deleting their credentials from the vault?" if keys else "?"
    )
    if not confirm(question, yes=args.yes):
        notice("nothing removed")
        return 1
    vault = open_vault(args, home) if any(k.has_secret for k in keys) else None
    change = accounts.remove_owner(
        home, account_name, sub_name, force=args.force, vault=vault, agreed=keys
    )
    notice(change.summary)
    return 0
