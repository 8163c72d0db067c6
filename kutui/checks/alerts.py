"""What a check run alerts about, and the message that says it (``kutui check --notify``).

A key is named when its check was not ``ok`` (``unchecked``, no secret stored, is not a
problem), when it expires within ``[rotation] expiry_warning_days`` (or has expired), or when its
permissions drift from its note's expected ones. The expiry and drift rules are the audit's
(``kutui.checks.audit``), applied to the keys as the run left them (``kutui.store.learn``), so the
alert and ``kutui audit`` never disagree. Pure: no I/O.

A message holds refs, statuses, dates, permission names and the fix: never a credential, never
KuCoin's free-text answer (outside text, and it could quote a request).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kutui.checks.audit import AuditContext, rule_key_expiry, rule_permissions_differ
from kutui.kucoin.diagnosis import ADVICE
from kutui.model import ApiKey, CheckResult, KeyRef, Status
from kutui.store.config import Config

#: How many alerts a message names before it summarises the rest ("and 12 more"): 20 keep it
#: within one chat message (Telegram's limit is 4,096 characters; Apprise sends it as it is).
MAX_NAMED = 20


@dataclass(frozen=True)
class Alert:
    ref: KeyRef
    kind: str  # "status" | "expiry" | "drift"
    problem: str
    fix: str


def alerts(
    rows: Sequence[tuple[ApiKey, CheckResult]], config: Config, now: datetime
) -> list[Alert]:
    """Every alert of a run, worst status first, then by key."""
    ctx = AuditContext(now, config, {})
    found: list[tuple[int, Alert]] = []
    for key, result in rows:
        if result.status not in (Status.OK, Status.UNCHECKED):
            explanation, fix = ADVICE[result.status]
            found.append(
                (
                    -result.status.severity,
                    Alert(key.ref, "status", f"{result.status.value}: {explanation}", fix),
                )
            )
        for finding in rule_key_expiry(key, ctx):
            found.append((0, Alert(key.ref, "expiry", finding.message, finding.fix)))
        for finding in rule_permissions_differ(key, ctx):
            found.append((0, Alert(key.ref, "drift", finding.message, finding.fix)))
    found.sort(key=lambda item: (item[0], str(item[1].ref), item[1].kind))
    return [alert for _, alert in found]


def message(found: Sequence[Alert], rows: Sequence[tuple[ApiKey, CheckResult]]) -> tuple[str, str]:
    """(title, body) for the alerts of one run."""
    keys = len({alert.ref for alert in found})
    title = f"kutui: {keys} key(s) need attention"
    lines = []
    for alert in found[:MAX_NAMED]:
        lines.append(f"{alert.ref}: {alert.problem}")
        lines.append(f"  fix: {alert.fix}")
    if len(found) > MAX_NAMED:
        lines.append(f"… and {len(found) - MAX_NAMED} more: run 'kutui check --all' to see them")
    counts = Counter(result.status.value for _, result in rows)
    summary = ", ".join(f"{n} {name}" for name, n in counts.most_common())
    lines.append("")
    lines.append(f"{len(rows)} key(s) checked: {summary}")
    return title, "\n".join(lines)
