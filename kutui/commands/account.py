"""``kutui account add|list|remove``: KuCoin master accounts and their sub-accounts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag, add_yes_flag

if TYPE_CHECKING:
    from kutui.model import Registry
    from kutui.store.vault import VaultData


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


def parse_owner(text: str) -> tuple[str, str]:
    """``NAME`` or ``NAME/SUB`` → (account, sub), names validated."""
    from kutui.errors import UsageError
    from kutui.model import valid_name

    parts = text.strip().split("/")
    if len(parts) > 2 or not all(valid_name(p) for p in parts):
        raise UsageError(
            f"{text!r} is not NAME or NAME/SUB (names: 1-64 letters, digits or . _ @ + -, "
            "starting with a letter or digit)"
        )
    return parts[0], parts[1] if len(parts) == 2 else ""


def run_add(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice
    from kutui.errors import UsageError
    from kutui.model import Account, SubAccount, api_url_problem

    home = load_home(args)
    account_name, sub_name = parse_owner(args.name)
    api_url = args.api_url if args.api_url is not None else home.config.kucoin.api_url
    problem = api_url_problem(api_url)
    if problem:
        raise UsageError(f"--api-url {problem}")
    if sub_name and args.api_url is not None:
        raise UsageError("--api-url belongs to the master account, not to a sub-account")

    def add(registry: Registry) -> str:
        account = registry.account(account_name)
        if not sub_name:
            if account is not None:
                raise UsageError(f"account {account_name!r} already exists")
            registry.accounts.append(
                Account(name=account_name, api_url=api_url.rstrip("/"), remark=args.remark)
            )
            return f"added account {account_name}"
        created = ""
        if account is None:
            account = Account(name=account_name, api_url=api_url.rstrip("/"))
            registry.accounts.append(account)
            created = f"added account {account_name} and "
        if account.sub(sub_name) is not None:
            raise UsageError(f"sub-account {account_name}/{sub_name} already exists")
        account.subaccounts.append(SubAccount(name=sub_name, remark=args.remark))
        return f"{created}added sub-account {account_name}/{sub_name}"

    notice(home.update_registry(add))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, print_json, print_table

    registry = load_home(args).registry()
    if args.json:
        print_json(
            [
                {
                    "name": a.name,
                    "api_url": a.api_url,
                    "uid": a.uid,
                    "remark": a.remark,
                    "keys": len(registry.keys_under(a.name, "")),
                    "subaccounts": [
                        {
                            "name": s.name,
                            "uid": s.uid,
                            "remark": s.remark,
                            "keys": len(registry.keys_under(a.name, s.name)),
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
                len(registry.keys_under(account.name, "")),
                account.api_url,
                account.remark,
            ]
        )
        for sub in account.subaccounts:
            rows.append(
                [
                    f"{account.name}/{sub.name}",
                    len(registry.keys_under(account.name, sub.name)),
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


def _drop_keys(data: VaultData, ids: set[str]) -> None:
    for key_id in ids:
        data.remove_key(key_id)


def run_remove(args: argparse.Namespace) -> int:
    from kutui.commands.common import confirm, load_home, notice, open_vault
    from kutui.errors import KeyNotFound, UsageError
    from kutui.rotation.store import refuse_open_rotation

    home = load_home(args)
    account_name, sub_name = parse_owner(args.name)
    label = f"{account_name}/{sub_name}" if sub_name else account_name
    registry = home.registry()
    account = registry.account(account_name)
    if account is None or (sub_name and account.sub(sub_name) is None):
        raise KeyNotFound(f"no {'sub-account' if sub_name else 'account'} {label!r}")
    keys = registry.keys_under(account_name, sub_name if sub_name else None)
    if keys and not args.force:
        raise UsageError(
            f"{label} still has {len(keys)} key(s)",
            hint="remove them with 'kutui key remove', or pass --force to remove them too",
        )
    refuse_open_rotation(home.paths.rotations_dir, keys)
    question = f"Remove {label}" + (
        f" and its {len(keys)} key(s), deleting their credentials from the vault?" if keys else "?"
    )
    if not confirm(question, yes=args.yes):
        notice("nothing removed")
        return 1
    ids = {k.id for k in keys}
    vault = open_vault(args, home) if any(k.has_secret for k in keys) else None

    def remove(reg: Registry) -> None:
        added_meanwhile = [
            k
            for k in reg.keys_under(account_name, sub_name if sub_name else None)
            if k.id not in ids
        ]
        if added_meanwhile:  # refused before anything is deleted
            raise UsageError(f"keys were added under {label} meanwhile; run the command again")
        if vault is not None:
            # Inside the registry's lock, after its checks: a refusal deletes no credential, and
            # a crash between the two writes leaves listed keys that this command removes again.
            vault.update(lambda data: _drop_keys(data, ids))  # one vault write for all the keys
            home.note_vault_generation(vault)
        reg.keys = [k for k in reg.keys if k.id not in ids]
        acc = reg.account(account_name)
        if acc is None:
            return
        if sub_name:
            acc.subaccounts = [s for s in acc.subaccounts if s.name != sub_name]
        else:
            reg.accounts = [a for a in reg.accounts if a.name != account_name]

    home.update_registry(remove)
    notice(f"removed {label}" + (f" and {len(keys)} key(s)" if keys else ""))
    return 0
