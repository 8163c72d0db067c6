"""Applying check results to registry records (in memory and, in batches, on disk)."""

from __future__ import annotations

from collections.abc import Mapping

from kutui.model import ApiKey, CheckResult, Registry, RemoteState, Status


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


def apply_results(registry: Registry, results: Mapping[str, CheckResult]) -> int:
    """Apply results by key id (keys removed meanwhile are skipped); returns how many applied."""
    applied = 0
    for key in registry.keys:
        result = results.get(key.id)
        if result is not None:
            apply_result(key, result)
            applied += 1
    return applied
