"""What the screen says about one key beyond its status: drift, unbound, age, expiry, findings.

Pure functions over the registry records and the audit rules, shared by the table, the detail
pane and the overview so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kutui.checks.audit import RULES, AuditContext, Finding
from kutui.model import ApiKey, Status
from kutui.store.config import Config


@dataclass(frozen=True)
class KeyFacts:
    findings: tuple[Finding, ...]
    drift: bool
    unbound: bool
    expiring: bool
    expired: bool
    too_old: bool
    age_days: int | None


def key_facts(key: ApiKey, now: datetime, config: Config) -> KeyFacts:
    ctx = AuditContext(now, config, {})
    findings = tuple(f for rule in RULES for f in rule(key, ctx))
    ids = {f.rule_id for f in findings}
    age = key.age(now)
    return KeyFacts(
        findings=findings,
        drift="permissions-differ" in ids,
        unbound="no-ip-whitelist" in ids,
        expiring="key-expiring" in ids,
        expired="key-expired" in ids,
        too_old="key-too-old" in ids,
        age_days=age.days if age is not None else None,
    )


def worst_status(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: s.severity, default=Status.UNCHECKED)


def ago(moment: datetime | None, now: datetime) -> str:
    """A short relative time: ``never``, ``just now``, ``5m ago``, ``3h ago``, ``12d ago``."""
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"
