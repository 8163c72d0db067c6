"""Risk audit: pure rules over the registry (and, for one rule, passphrase digests).

Each rule looks at one key's metadata and returns findings; nothing here does I/O. The one rule
that needs the vault (the same passphrase on several keys) takes digests computed by
``passphrase_digests``: an HMAC under a random key that lives only in memory for the run, so two
equal passphrases give equal digests while nothing that could be brute-forced offline is ever
written out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from kutui.model import (
    TRADING_PERMISSIONS,
    WITHDRAWAL_PERMISSIONS,
    ApiKey,
    KeyRef,
    Registry,
    rotation_due,
)
from kutui.secret import Secret
from kutui.store.config import Config


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    ref: KeyRef
    message: str
    fix: str


@dataclass(frozen=True)
class AuditContext:
    """What the rules need besides the key: the time, the policy and the passphrase groups."""

    now: datetime
    config: Config
    # key id -> refs of the *other* keys that share its passphrase
    shared_passphrase: Mapping[str, tuple[KeyRef, ...]]


Rule = Callable[[ApiKey, AuditContext], Iterable[Finding]]


# --------------------------------------------------------------------------- rules

_BIND_IP = "bind the key to your servers' IP addresses on KuCoin (API Management → IP restriction)"


def rule_no_ip_whitelist(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    seen = set(key.permissions_seen)
    if key.ip_whitelist_seen.strip():
        return
    withdraw = sorted(seen & WITHDRAWAL_PERMISSIONS)
    trading = sorted(seen & TRADING_PERMISSIONS)
    if withdraw:
        yield Finding(
            "no-ip-whitelist",
            Severity.CRITICAL,
            key.ref,
            f"can move funds ({', '.join(withdraw)}) from any IP address",
            _BIND_IP,
        )
    elif trading:
        yield Finding(
            "no-ip-whitelist",
            Severity.WARNING,
            key.ref,
            f"can trade ({', '.join(trading)}) from any IP address; KuCoin deletes or disables "
            "unbound trading keys after 30 days unused",
            _BIND_IP,
        )


def rule_permissions_differ(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    expected = set(key.note.expected_permissions)
    seen = set(key.permissions_seen)
    # Nothing to compare until both the note and a successful check exist.
    if not expected or not seen or expected == seen:
        return
    extra = sorted(seen - expected)
    missing = sorted(expected - seen)
    parts = []
    if extra:
        parts.append(f"has {', '.join(extra)} beyond the note")
    if missing:
        parts.append(f"lacks {', '.join(missing)} the note expects")
    yield Finding(
        "permissions-differ",
        Severity.WARNING,
        key.ref,
        "permissions differ from the note: " + "; ".join(parts),
        "change the key's permissions on KuCoin, or correct the note's expected permissions",
    )


def rule_key_too_old(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    due = rotation_due(key, ctx.config.rotation.max_key_age_days, ctx.now)
    if due is None:
        return
    yield Finding(
        "key-too-old",
        Severity.WARNING,
        key.ref,
        f"is {due.age_days} days old; the rotation policy is {due.max_days} days",
        f"rotate it: kutui rotate {key.ref}",
    )


def rule_key_expiry(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    expires = key.expires_at()
    if not key.ref.sub or expires is None:
        return
    left = expires - ctx.now
    if left <= timedelta(0):
        yield Finding(
            "key-expired",
            Severity.CRITICAL,
            key.ref,
            f"expired on {expires:%Y-%m-%d}",
            f"rotate it: kutui rotate {key.ref}",
        )
    elif left <= timedelta(days=ctx.config.rotation.expiry_warning_days):
        yield Finding(
            "key-expiring",
            Severity.WARNING,
            key.ref,
            f"expires on {expires:%Y-%m-%d} (in {max(left.days, 0)} days)",
            f"rotate it before then: kutui rotate {key.ref}",
        )


def rule_shared_passphrase(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    others = ctx.shared_passphrase.get(key.id)
    if not others:
        return
    names = ", ".join(str(r) for r in others[:3]) + (" …" if len(others) > 3 else "")
    yield Finding(
        "shared-passphrase",
        Severity.WARNING,
        key.ref,
        f"uses the same API passphrase as {len(others)} other key(s): {names}",
        "give every key its own passphrase (rotate the keys that share one)",
    )


def rule_legacy_version(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    if key.api_version not in (1, 2):
        return
    yield Finding(
        "legacy-key-version",
        Severity.CRITICAL if key.api_version == 1 else Severity.WARNING,
        key.ref,
        f"is a version {key.api_version} key; KuCoin is retiring V1 and V2 keys",
        f"re-create it as a V3 key: kutui rotate {key.ref}",
    )


def rule_check_freshness(key: ApiKey, ctx: AuditContext) -> Iterable[Finding]:
    # A key without a stored secret cannot be checked: say so, but do not fail the audit.
    severity = Severity.WARNING if key.has_secret else Severity.INFO
    fix = f"store its secret: kutui key add {key.ref}"
    if key.has_secret:
        fix = f"kutui check {key.ref}"
    if key.last_check is None:
        yield Finding("never-checked", severity, key.ref, "has never been checked", fix)
        return
    hours = ctx.config.checks.stale_after_hours
    age = ctx.now - key.last_check.checked_at
    if hours > 0 and age > timedelta(hours=hours):
        yield Finding(
            "stale-check",
            severity,
            key.ref,
            f"was last checked {_ago(age)} ago (policy: every {hours} h)",
            fix,
        )


RULES: tuple[Rule, ...] = (
    rule_no_ip_whitelist,
    rule_permissions_differ,
    rule_key_too_old,
    rule_key_expiry,
    rule_shared_passphrase,
    rule_legacy_version,
    rule_check_freshness,
)

RULE_IDS: tuple[str, ...] = (
    "no-ip-whitelist",
    "permissions-differ",
    "key-too-old",
    "key-expired",
    "key-expiring",
    "shared-passphrase",
    "legacy-key-version",
    "never-checked",
    "stale-check",
)


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


# --------------------------------------------------------------------------- running


def audit(
    registry: Registry,
    config: Config,
    now: datetime,
    *,
    digests: Mapping[str, bytes] | None = None,
) -> list[Finding]:
    """Every finding for every key, worst first (then by key)."""
    ctx = AuditContext(now, config, shared_passphrase_groups(registry, digests or {}))
    findings = [f for key in registry.keys for rule in RULES for f in rule(key, ctx)]
    findings.sort(key=lambda f: (-f.severity.rank, str(f.ref), f.rule_id))
    return findings


def shared_passphrase_groups(
    registry: Registry, digests: Mapping[str, bytes]
) -> dict[str, tuple[KeyRef, ...]]:
    """key id -> the other keys whose passphrase digest is the same."""
    by_digest: dict[bytes, list[ApiKey]] = defaultdict(list)
    for key in registry.keys:
        digest = digests.get(key.id)
        if digest is not None:
            by_digest[digest].append(key)
    shared: dict[str, tuple[KeyRef, ...]] = {}
    for group in by_digest.values():
        if len(group) > 1:
            for key in group:
                shared[key.id] = tuple(k.ref for k in group if k.id != key.id)
    return shared


class _HasPassphrase(Protocol):
    @property
    def passphrase(self) -> Secret: ...


class _CredentialSource(Protocol):
    def get(self, key_id: str) -> _HasPassphrase | None: ...


def passphrase_digests(source: _CredentialSource, key_ids: Iterable[str]) -> dict[str, bytes]:
    """HMAC-SHA256 of each key's CURRENT passphrase under a per-call random key.

    The HMAC key is never stored, so the digests mean nothing outside this process; they exist
    only to compare passphrases with each other and must not be written anywhere.
    """
    salt = os.urandom(32)
    digests: dict[str, bytes] = {}
    for key_id in key_ids:
        cred = source.get(key_id)
        if cred is not None and cred.passphrase:
            digests[key_id] = hmac.digest(salt, cred.passphrase.reveal().encode(), hashlib.sha256)
    return digests


def worst(findings: Iterable[Finding]) -> Severity | None:
    ranked = max(findings, key=lambda f: f.severity.rank, default=None)
    return ranked.severity if ranked else None
