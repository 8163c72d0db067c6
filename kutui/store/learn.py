"""What a check teaches the registry: the one rule, pure over ``kutui.model`` objects.

Used by the TOML path (``kutui.checks.results.ResultSaver``), the TUI (``kutui/tui/app.py``
saves, ``kutui/tui/screens/main.py`` shows) and the database (``kutui.store.sqlite_registry``),
so all of them record a result the same way:

- every checked result becomes the key's ``last_check`` (status, code, time, latency...);
- ``ok`` also records what KuCoin says about the key: permissions, IP whitelist (masked), key
  version, created time, remark, ``remote = present``, and the uid on the key's account or
  sub-account;
- ``invalid_key`` (400003) marks the key ``remote = missing``: deleted on KuCoin (or wrong site);
- ``unchecked`` (no secret stored, no request sent) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from kutui.model import ApiKey, CheckResult, Registry, RemoteState, Status


def apply_result(registry: Registry, key_id: str, result: CheckResult) -> bool:
    """Record ``result`` on the key; False when the key is gone or nothing was checked."""
    key = registry.key_by_id(key_id)
    return key is not None and apply_to_key(registry, key, result)


def apply_to_key(registry: Registry, key: ApiKey, result: CheckResult) -> bool:
    """``apply_result`` for a key already in hand (one of ``registry``'s keys): the TUI looks keys
    up by id in its own index, so a result costs no scan of the registry."""
    if result.status is Status.UNCHECKED:
        return False
    key.last_check = result
    if result.status is Status.INVALID_KEY:
        key.remote = RemoteState.MISSING
    if result.status is not Status.OK:
        return True
    key.remote = RemoteState.PRESENT
    key.permissions_seen = result.permissions
    key.ip_whitelist_seen = result.ip_whitelist
    if result.api_version:
        key.api_version = result.api_version
    if result.created_at is not None:
        key.created_at = result.created_at
    if result.remark:
        key.remark = result.remark
    if result.uid is not None:
        account = registry.account(key.ref.account)
        if account is not None:
            if not key.ref.sub:
                account.uid = result.uid
            else:
                sub = account.sub(key.ref.sub)
                if sub is not None:
                    sub.uid = result.uid
                    sub.remote = RemoteState.PRESENT
    return True


def apply_results(registry: Registry, results: Iterable[tuple[str, CheckResult]]) -> int:
    """Apply results by key id (keys removed meanwhile are skipped); returns how many applied.
    One index per batch: a 10,000-key batch would otherwise scan the registry 10,000 times."""
    by_id: dict[str, ApiKey] = {}
    for each in registry.keys:
        by_id.setdefault(each.id, each)  # the first, as ``Registry.key_by_id`` finds
    return sum(
        apply_to_key(registry, key, result)
        for key_id, result in results
        if (key := by_id.get(key_id)) is not None
    )
