"""Check runs as JSON, for the engine in a child process (kutui/checks/in_child.py).

The parent sends one request line on the child's stdin (settings and targets, credentials
included: a pipe, never argv or the environment); the child answers with one line per batch of
results, then one closing line. ``result_to_wire``/``result_from_wire`` round-trip every field
of ``CheckResult`` (tests/checks/test_wire.py).

Lines, each one JSON object:

- request: ``{"every": s, "settings": {...}, "targets": [[key_id, account, sub, label, api_url,
  pool_hint, credential or null], ...]}``, credential ``[api_key, api_secret, passphrase,
  api_version, saved_at or null]``;
- a batch: ``{"batch": [[target index, done, total, result], ...]}``;
- the end: ``{"end": true}``, or ``{"error": {"type": name, "message": text}}`` when the engine
  raised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.model import CheckResult, Credential, KeyRef, Status
from kutui.secret import Secret
from kutui.store.config import ChecksConfig

#: The ``ChecksConfig`` fields the engine reads (kutui/ops/checks.py's ``run``).
SETTINGS = ("concurrency", "timeout_seconds", "retries", "max_rate_wait_seconds")
_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in fields(CheckResult)
    if f.name not in ("status", "checked_at")  # the two without a default
}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def result_to_wire(result: CheckResult) -> dict[str, Any]:
    """A result as a JSON object: status and time, then each field that is not its default."""
    out: dict[str, Any] = {"status": result.status.value, "checked_at": _when(result.checked_at)}
    for name, default in _DEFAULTS.items():
        value = getattr(result, name)
        if value == default and type(value) is type(default):
            continue
        if name == "created_at":
            value = _when(value)
        elif name == "permissions":
            value = list(value)
        out[name] = value
    return out


def result_from_wire(data: dict[str, Any]) -> CheckResult:
    extra = {name: data[name] for name in _DEFAULTS if name in data}
    if "permissions" in extra:
        extra["permissions"] = tuple(extra["permissions"])
    if "created_at" in extra:
        extra["created_at"] = _parse_when(extra["created_at"])
    when = _parse_when(data["checked_at"])
    assert when is not None  # nosec B101  # always sent
    return CheckResult(Status(data["status"]), when, **extra)


def _credential_to_wire(cred: Credential | None) -> list[Any] | None:
    if cred is None:
        return None
    return [
        cred.api_key.reveal(),
        cred.api_secret.reveal(),
        cred.passphrase.reveal(),
        cred.api_version,
        _when(cred.saved_at),
    ]


def _credential_from_wire(data: list[Any] | None) -> Credential | None:
    if data is None:
        return None
    key, secret, passphrase, version, saved_at = data
    return Credential(
        Secret(key), Secret(secret), Secret(passphrase), int(version), _parse_when(saved_at)
    )


def request_line(settings: ChecksConfig, targets: Sequence[CheckTarget], every: float) -> bytes:
    """The child's request: it holds credentials in clear, so it goes down a pipe only."""
    body = {
        "every": every,
        "settings": {name: getattr(settings, name) for name in SETTINGS},
        "targets": [
            [
                t.key_id,
                t.ref.account,
                t.ref.sub,
                t.ref.label,
                t.api_url,
                t.pool_hint,
                _credential_to_wire(t.credential),
            ]
            for t in targets
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def read_request(line: bytes) -> tuple[ChecksConfig, list[CheckTarget], float]:
    body = json.loads(line)
    settings = ChecksConfig(**{name: body["settings"][name] for name in SETTINGS})
    targets = [
        CheckTarget(key_id, KeyRef(account, sub, label), url, _credential_from_wire(cred), hint)
        for key_id, account, sub, label, url, hint, cred in body["targets"]
    ]
    return settings, targets, float(body["every"])


def batch_line(batch: Sequence[tuple[int, CheckEvent]]) -> bytes:
    """A batch of events, each by its target's index in the request (no credential goes back)."""
    rows = [[i, e.done, e.total, result_to_wire(e.result)] for i, e in batch]
    return json.dumps({"batch": rows}, separators=(",", ":")).encode() + b"\n"


def read_batch(rows: list[list[Any]], targets: Sequence[CheckTarget]) -> list[CheckEvent]:
    return [
        CheckEvent(targets[i], result_from_wire(result), done, total)
        for i, done, total, result in rows
    ]


def end_line(error: BaseException | None = None) -> bytes:
    if error is None:
        return b'{"end":true}\n'
    body = {"error": {"type": type(error).__name__, "message": str(error)}}
    return json.dumps(body).encode() + b"\n"
