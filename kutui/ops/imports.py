"""``kutui import ACCOUNT`` and the TUI's ``i``: learn an account's sub-accounts and their keys
from KuCoin through its master key, and merge them into the registry in one write (the merge
rules are ``kutui.checks.importer.merge_remote``'s)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kutui.errors import KeyNotFound, UsageError, VaultError
from kutui.model import ApiKey, Credential, Registry, valid_name

if TYPE_CHECKING:
    from kutui.checks.importer import ImportReport
    from kutui.kucoin.client import ClientPool, KeyInfo, SubAccountInfo
    from kutui.store.home import Home
    from kutui.store.vault import VaultData


@dataclass(frozen=True)
class Source:
    """The master key an import lists with, and where its account lives."""

    account: str
    api_url: str
    master: ApiKey


def source(registry: Registry, account: str, label: str | None = None) -> Source:
    """The account's master key to import with (``choose_master_key``'s rule)."""
    from kutui.checks.importer import choose_master_key

    name = account.strip()
    if not valid_name(name):
        raise UsageError(f"{account!r} is not an account name (import takes ACCOUNT)")
    master = choose_master_key(registry, name, label)
    owner = registry.account(name)
    if owner is None:  # pragma: no cover - choose_master_key found the account
        raise KeyNotFound(f"no account {name!r}")
    return Source(name, owner.api_url, master)


def credential(home: Home, data: VaultData, src: Source) -> Credential:
    cred = data.get(src.master.id)
    if cred is None:
        raise VaultError(home.paths.vault, f"holds no credentials for {src.master.ref}")
    return cred


async def fetch(
    pool: ClientPool,
    src: Source,
    cred: Credential,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[SubAccountInfo], dict[str, list[KeyInfo]]]:
    from kutui.checks.importer import fetch_remote

    return await fetch_remote(pool.get(src.api_url), cred, progress or (lambda _d, _t: None))


def merge(
    home: Home,
    src: Source,
    subs: list[SubAccountInfo],
    keys: dict[str, list[KeyInfo]],
    now: datetime,
) -> ImportReport:
    """Merge what KuCoin listed into the registry, in one write."""
    from kutui.checks.importer import merge_remote

    return home.update_registry(lambda reg: merge_remote(reg, src.account, subs, keys, now))
