"""Learning an account's sub-accounts and their keys from KuCoin, for ``kutui import`` and the
TUI's import action.

``fetch_remote`` lists every sub-account (all pages of ``GET /api/v2/sub/user``) and each one's keys
(``GET /api/v1/sub/api-key``, paced by the same per-pool budget as checks) with the account's master
key; ``merge_remote`` merges them into the registry:

- new sub-accounts and keys are added as metadata only (fingerprint, permissions, IP whitelist,
  version, created time, remark; ``has_secret = false``): the secret is added later by
  ``kutui key add`` or a rotation. The full API key is never stored;
- known ones are matched (sub-account by name; key by fingerprint and created time) and updated,
  so importing twice adds nothing;
- sub-accounts and keys that KuCoin no longer lists are marked ``remote = missing``, never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kutui.kucoin.client import KeyInfo, KucoinClient, SubAccountInfo
    from kutui.model import ApiKey, Credential, Registry

#: Sub-account key listings in flight at once (each is weight 20 in the master's pool).
LIST_CONCURRENCY = 4


# --------------------------------------------------------------------------- merge (pure)


@dataclass
class ImportReport:
    account: str
    subs_remote: int = 0
    subs_added: list[str] = field(default_factory=list)
    subs_missing: list[str] = field(default_factory=list)
    keys_remote: int = 0
    keys_added: list[str] = field(default_factory=list)
    keys_updated: int = 0
    keys_missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: what KuCoin lists and what changed here."""
        return (
            f"{self.account}: {self.subs_remote} sub-account(s) and {self.keys_remote} key(s) "
            f"on KuCoin; added {len(self.subs_added)} sub-account(s) and "
            f"{len(self.keys_added)} key(s), updated {self.keys_updated} key(s)"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "account": self.account,
            "sub_accounts": {
                "on_kucoin": self.subs_remote,
                "added": self.subs_added,
                "missing": self.subs_missing,
            },
            "keys": {
                "on_kucoin": self.keys_remote,
                "added": self.keys_added,
                "updated": self.keys_updated,
                "missing": self.keys_missing,
            },
            "skipped": self.skipped,
        }


_LABEL_JUNK = re.compile(r"[^A-Za-z0-9._@+-]+")


def _label_for(registry: Registry, account: str, sub: str, info: KeyInfo) -> str:
    """A valid, unused label: the remark cleaned up, else ``key-<fingerprint>``."""
    from kutui.model import KeyRef, valid_name

    fp = info.api_key[-4:]
    base = _LABEL_JUNK.sub("-", info.remark).strip("-._@+")[:56]
    if not valid_name(base):
        base = f"key-{fp}"
    candidates = [base, f"{base}-{fp}"] + [f"{base}-{fp}-{n}" for n in range(2, 1000)]
    for label in candidates:
        if registry.key(KeyRef(account, sub, label)) is None:
            return label
    raise AssertionError("no free label")  # pragma: no cover - 1,000 keys with one remark


def _when(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=0) if ms else None


def _update_key(key: ApiKey, info: KeyInfo) -> None:
    from kutui.model import RemoteState

    key.permissions_seen = info.permissions
    key.ip_whitelist_seen = info.ip_whitelist
    if info.api_version:
        key.api_version = info.api_version
    key.created_at = _when(info.created_at_ms) or key.created_at
    key.remark = info.remark or key.remark
    key.remote = RemoteState.PRESENT


def merge_remote(
    registry: Registry,
    account_name: str,
    subs: list[SubAccountInfo],
    keys_by_sub: dict[str, list[KeyInfo]],
    now: datetime,
) -> ImportReport:
    """Merge what KuCoin listed into ``registry`` (in memory); returns what changed."""
    import uuid

    from kutui.errors import KeyNotFound
    from kutui.model import ApiKey, KeyRef, RemoteState, SubAccount, valid_name
    from kutui.text import truncate

    account = registry.account(account_name)
    if account is None:
        raise KeyNotFound(f"no account named {account_name!r}")
    report = ImportReport(account_name, subs_remote=len(subs))
    listed: set[str] = set()
    for info in subs:
        if not valid_name(info.sub_name):
            # Quoted escaped and cut: the name is KuCoin's, it may be anything up to 1 MiB.
            shown = truncate(repr(info.sub_name), 80)
            report.skipped.append(f"sub-account {shown}: not a usable name")
            continue
        listed.add(info.sub_name)
        sub = account.sub(info.sub_name)
        if sub is None:
            account.subaccounts.append(
                SubAccount(info.sub_name, info.uid, RemoteState.PRESENT, info.remarks)
            )
            report.subs_added.append(f"{account_name}/{info.sub_name}")
        else:
            sub.uid = info.uid
            sub.remote = RemoteState.PRESENT
            sub.remark = sub.remark or info.remarks
    for sub in account.subaccounts:
        if sub.name not in listed and sub.remote is not RemoteState.MISSING:
            sub.remote = RemoteState.MISSING
            report.subs_missing.append(f"{account_name}/{sub.name}")
    for sub in account.subaccounts:
        existing = registry.keys_under(account_name, sub.name)
        infos = keys_by_sub.get(sub.name, []) if sub.name in listed else []
        report.keys_remote += len(infos)
        matched: set[str] = set()
        for key_info in infos:
            created = _when(key_info.created_at_ms)
            match = next(
                (
                    k
                    for k in existing
                    if k.id not in matched
                    and k.fingerprint == key_info.api_key[-4:]
                    and (k.created_at is None or created is None or k.created_at == created)
                ),
                None,
            )
            if match is None:
                label = _label_for(registry, account_name, sub.name, key_info)
                match = ApiKey(
                    id=uuid.uuid4().hex,
                    ref=KeyRef(account_name, sub.name, label),
                    fingerprint=key_info.api_key[-4:],
                    added_at=now,
                    has_secret=False,
                )
                registry.keys.append(match)
                report.keys_added.append(str(match.ref))
            else:
                report.keys_updated += 1
            matched.add(match.id)
            _update_key(match, key_info)
        for key in existing:
            if key.id not in matched and key.remote is not RemoteState.MISSING:
                key.remote = RemoteState.MISSING
                report.keys_missing.append(str(key.ref))
    return report


# --------------------------------------------------------------------------- fetching


def choose_master_key(registry: Registry, account: str, label: str | None) -> ApiKey:
    from kutui.errors import KeyNotFound, UsageError

    if registry.account(account) is None:
        raise KeyNotFound(f"no account named {account!r}", hint="add it with 'kutui account add'")
    masters = [k for k in registry.keys_under(account, "") if k.has_secret]
    if label is not None:
        named = next((k for k in masters if k.ref.label == label), None)
        if named is None:
            raise KeyNotFound(f"no master key {account}/{label} with a stored secret")
        return named
    general = [k for k in masters if "General" in k.permissions_seen]
    if not (general or masters):
        raise UsageError(
            f"{account} has no master key with a stored secret",
            hint=f"add one with 'kutui key add {account}/LABEL' (General permission)",
        )
    return (general or masters)[0]


async def fetch_remote(
    client: KucoinClient,
    cred: Credential,
    progress: Callable[[int, int], None],
) -> tuple[list[SubAccountInfo], dict[str, list[KeyInfo]]]:
    """Every sub-account and each one's keys, listings paced by the master's rate budget."""
    import asyncio

    from kutui.checks.budget import BudgetBook
    from kutui.kucoin.diagnosis import KucoinApiError
    from kutui.model import valid_name

    subs = await client.sub_accounts(cred)
    budgets = BudgetBook(max_wait=client.max_rate_wait)
    slots = asyncio.Semaphore(LIST_CONCURRENCY)
    keys: dict[str, list[KeyInfo]] = {}
    done = 0

    async def list_keys(sub: SubAccountInfo) -> None:
        nonlocal done
        reservation = await budgets.acquire("master")
        answered = False
        try:
            async with slots:
                keys[sub.sub_name] = await client.sub_api_keys(cred, sub.sub_name)
            answered = True
        except KucoinApiError as err:
            answered = err.http_status != 0
            raise
        finally:
            budgets.settle(reservation, client.rate_limit_for(cred), answered=answered)
        done += 1
        progress(done, total)

    # A name kutui cannot use (merge_remote skips and reports it) is not sent back to KuCoin:
    # it may not even be encodable in a URL.
    listable = [s for s in subs if valid_name(s.sub_name)]
    total = len(listable)
    await asyncio.gather(*(list_keys(s) for s in listable))
    return subs, keys
