"""Accounts and sub-accounts: add, rename (an account's API URL too), remove.

The API URL rule is ``kutui.model.api_url_problem``, worded here once for both front ends
(``url_problem``): a URL kutui.db holds is one every command can use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kutui.errors import KeyNotFound, UsageError
from kutui.model import Account, ApiKey, KeyRef, Registry, SubAccount, api_url_problem, valid_name
from kutui.ops.change import Change

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.vault import Vault

NAME_RULE = "names: 1-64 letters, digits or . _ @ + -, starting with a letter or digit"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an account's API URL, as both front ends say it; None if it can."""
    problem = api_url_problem(url)
    return f"the API URL {problem}" if problem else None


def refuse_url(url: str) -> str:
    """``url`` without a trailing slash, or ``UsageError`` naming the rule."""
    problem = url_problem(url)
    if problem:
        raise UsageError(problem)
    return url.rstrip("/")


def name_problem(what: str, name: str) -> str | None:
    return None if valid_name(name) else f"{name!r} is not a valid {what} ({NAME_RULE})"


def _refuse_name(what: str, name: str) -> None:
    problem = name_problem(what, name)
    if problem:
        raise UsageError(problem)


def parse_owner(text: str) -> tuple[str, str]:
    """``NAME`` or ``NAME/SUB`` → (account, sub), names validated."""
    parts = text.strip().split("/")
    if len(parts) > 2 or not all(valid_name(p) for p in parts):
        raise UsageError(f"{text!r} is not NAME or NAME/SUB ({NAME_RULE})")
    return parts[0], parts[1] if len(parts) == 2 else ""


def add_account(home: Home, name: str, api_url: str | None = None, *, remark: str = "") -> Change:
    _refuse_name("account name", name)
    url = refuse_url(api_url if api_url is not None else home.config.kucoin.api_url)

    def add(registry: Registry) -> None:
        if registry.account(name) is not None:
            raise UsageError(f"account {name!r} already exists")
        registry.accounts.append(Account(name=name, api_url=url, remark=remark))

    home.update_registry(add)
    return Change(f"added account {name}")


def add_subaccount(
    home: Home, account: str, sub: str, *, remark: str = "", create_account: bool = False
) -> Change:
    """Add ``account/sub``; with ``create_account``, the account too when it is missing (with
    config.toml's API URL)."""
    _refuse_name("account name", account)
    _refuse_name("sub-account name", sub)
    url = refuse_url(home.config.kucoin.api_url)

    def add(registry: Registry) -> str:
        owner = registry.account(account)
        created = ""
        if owner is None:
            if not create_account:
                raise UsageError(f"account {account} was removed meanwhile")
            owner = Account(name=account, api_url=url)
            registry.accounts.append(owner)
            created = f"added account {account} and "
        if owner.sub(sub) is not None:
            raise UsageError(f"sub-account {account}/{sub} already exists")
        owner.subaccounts.append(SubAccount(name=sub, remark=remark))
        return f"{created}added sub-account {account}/{sub}"

    return Change(home.update_registry(add))


def edit_account(home: Home, old: str, name: str, api_url: str) -> Change:
    """Rename account ``old`` (its keys follow) and set its API URL."""
    _refuse_name("account name", name)
    url = refuse_url(api_url)

    def change(reg: Registry) -> None:
        account = reg.account(old)
        if account is None:
            raise UsageError(f"account {old} was removed meanwhile")
        if name != old and reg.account(name) is not None:
            raise UsageError(f"account {name!r} already exists")
        account.name, account.api_url = name, url
        for key in reg.keys:
            if key.ref.account == old:
                key.ref = KeyRef(name, key.ref.sub, key.ref.label)

    home.update_registry(change)
    return Change(f"saved account {name}")


def rename_subaccount(home: Home, account: str, old: str, name: str) -> Change:
    _refuse_name("sub-account name", name)

    def change(reg: Registry) -> None:
        owner = reg.account(account)
        if owner is None:
            raise UsageError(f"account {account} was removed meanwhile")
        if owner.sub(name) is not None:
            raise UsageError(f"sub-account {account}/{name} already exists")
        sub = owner.sub(old)
        if sub is None:
            raise UsageError(f"{account}/{old} was removed meanwhile")
        sub.name = name
        for key in reg.keys:
            if key.ref.account == account and key.ref.sub == old:
                key.ref = KeyRef(account, name, key.ref.label)

    home.update_registry(change)
    return Change(f"saved sub-account {account}/{name}")


def refuse_removal(
    registry: Registry, account: str, sub: str = "", *, force: bool = False
) -> list[ApiKey]:
    """The keys under ``account`` (or ``account/sub``), which removing it removes too; refused
    when it does not exist, or holds keys and not ``force``."""
    label = f"{account}/{sub}" if sub else account
    owner = registry.account(account)
    if owner is None or (sub and owner.sub(sub) is None):
        raise KeyNotFound(f"no {'sub-account' if sub else 'account'} {label!r}")
    keys = registry.keys_under(account, sub if sub else None)
    if keys and not force:
        raise UsageError(
            f"{label} still has {len(keys)} key(s)",
            hint="remove them with 'kutui key remove', or pass --force to remove them too",
        )
    return keys


def remove_owner(
    home: Home,
    account: str,
    sub: str = "",
    *,
    force: bool = False,
    vault: Vault | None = None,
    agreed: Sequence[ApiKey] | None = None,
) -> Change:
    """Remove an account or sub-account. Refused while keys remain under it unless ``force``,
    which removes them too (their credentials from ``vault``), and while one has an open
    rotation. ``agreed``: the keys the user was asked about; one added since refuses."""
    from kutui.ops.keys import drop_credentials
    from kutui.rotation.store import refuse_open_rotation

    label = f"{account}/{sub}" if sub else account
    keys = refuse_removal(home.registry(), account, sub, force=force)
    if agreed is not None:
        known = {k.id for k in agreed}
        keys = [k for k in keys if k.id in known]
    refuse_open_rotation(home.paths.rotations_dir, keys)
    ids = {k.id for k in keys}
    if vault is None and any(k.has_secret for k in keys):
        raise UsageError(f"unlock the vault to remove the credentials of {label}'s keys")

    def remove(reg: Registry) -> None:
        added_meanwhile = [
            k for k in reg.keys_under(account, sub if sub else None) if k.id not in ids
        ]
        if added_meanwhile:  # refused before anything is deleted
            raise UsageError(f"keys were added under {label} meanwhile; not removed")
        if vault is not None and ids:
            # Inside the registry's lock, after its checks: a refusal deletes no credential, and
            # a crash between the two writes leaves listed keys that a retry removes again.
            vault.update(lambda data: drop_credentials(data, ids))
            home.note_vault_generation(vault)
        reg.keys = [k for k in reg.keys if k.id not in ids]
        acc = reg.account(account)
        if acc is None:
            return
        if sub:
            acc.subaccounts = [s for s in acc.subaccounts if s.name != sub]
        else:
            reg.accounts = [a for a in reg.accounts if a.name != account]

    home.update_registry(remove)
    return Change(
        f"removed {label}" + (f" and {len(keys)} key(s)" if keys else ""), key_ids=tuple(ids)
    )
