"""Applying a check result to the record on screen (kutui.db records it with kutui.store.learn)."""

from __future__ import annotations

from kutui.model import ApiKey, CheckResult, RemoteState, Status


def apply_result(key: ApiKey, result: CheckResult) -> None:
    """Record one result on a key: always the last check; what KuCoin reported only when ok."""
    key.last_check = result
    if result.status is Status.OK:
        key.permissions_seen = tuple(result.permissions)
        key.ip_whitelist_seen = result.ip_whitelist
        if result.api_version is not None:
            key.api_version = result.api_version
        if result.created_at is not None:
            key.created_at = result.created_at
        key.remote = RemoteState.PRESENT
    elif result.status is Status.INVALID_KEY:
        key.remote = RemoteState.MISSING
