"""Turn one KuCoin answer into a key-health status, KuCoin's own words and what to do.

docs/architecture.md, "Key health": the body's ``code`` decides first (a failure can come with HTTP
200), then the HTTP status. A body that is HTML, empty, truncated or not JSON says nothing about the
key, so it is ``unreachable`` (except an HTTP 429, which is a rate limit whatever the body).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from kutui.errors import KucoinError
from kutui.model import Status
from kutui.redact import redact
from kutui.text import clean_message, clean_text

SUCCESS = "200000"

#: KuCoin body code -> status (docs/kucoin.md, "What kutui tells the user").
CODE_STATUS: dict[str, Status] = {
    SUCCESS: Status.OK,
    "400001": Status.BAD_SECRET,  # a header missing or malformed: a signing bug, as 400005
    "400002": Status.CLOCK_SKEW,
    "400003": Status.INVALID_KEY,
    "400004": Status.BAD_PASSPHRASE,
    "400005": Status.BAD_SECRET,
    "400006": Status.IP_DENIED,
    "400007": Status.PERMISSION_DENIED,
    "400010": Status.PERMISSION_DENIED,
    "400008": Status.UNSUPPORTED_VERSION,
    "400009": Status.UNSUPPORTED_VERSION,
    "411100": Status.FROZEN,
    "429000": Status.RATE_LIMITED,
}

#: status -> (what it means, what the user should do).
ADVICE: dict[Status, tuple[str, str]] = {
    Status.OK: ("the key works", "nothing to do"),
    Status.INVALID_KEY: (
        "KuCoin does not know this API key",
        "the key was deleted or belongs to another site: re-create it, or fix the API URL",
    ),
    # KuCoin checks the passphrase first, and the V2/V3 passphrase header is HMAC'd with the secret,
    # so 400004 cannot tell a wrong passphrase from a wrong secret (docs/kucoin.md).
    Status.BAD_PASSPHRASE: (
        "the passphrase, or the secret it is signed with, is wrong",
        "re-enter both the API passphrase chosen when the key was created "
        "(not the login or trading password) and the API secret",
    ),
    Status.BAD_SECRET: (
        "the request was signed or sent wrongly "
        "(400005: the passphrase and secret are right, the signature is not)",
        "a signing bug, a proxy or something else changed the request in transit, "
        "or a clock far off: check the proxy and the host clock, then report it",
    ),
    Status.IP_DENIED: (
        "this host's IP address is not on the key's whitelist",
        "add the address KuCoin names to the key's IP whitelist, or run from a listed host",
    ),
    Status.PERMISSION_DENIED: (
        "the key lacks a permission this request needs",
        "give the key the General permission (or the one named), or use another key",
    ),
    Status.UNSUPPORTED_VERSION: (
        "KuCoin refuses this key's version",
        "re-create the key as a V3 key (or set the stored key version to the one KuCoin shows)",
    ),
    Status.FROZEN: ("the account is frozen", "contact KuCoin support"),
    Status.CLOCK_SKEW: (
        "this host's clock is more than 5 seconds off KuCoin's, even after re-syncing",
        "fix the host clock (enable NTP)",
    ),
    Status.RATE_LIMITED: (
        "KuCoin's request quota for this account is spent",
        "retry later, after the reset time shown",
    ),
    Status.UNREACHABLE: (
        "KuCoin could not be reached or answered with an error",
        "check the network and KuCoin's status; nothing is known about the key",
    ),
    Status.UNCHECKED: ("not checked yet", "run a check"),
}


@dataclass(frozen=True)
class Diagnosis:
    """One classified answer. ``message`` is KuCoin's own ``msg`` (or a transport description)."""

    status: Status
    code: str
    http_status: int
    message: str
    data: object = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def explanation(self) -> str:
        return ADVICE[self.status][0]

    @property
    def action(self) -> str:
        return ADVICE[self.status][1]


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf: no KuCoin field is infinite
        raise ValueError("a number out of range")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes | str | None) -> dict[str, object] | None:
    """The JSON envelope, or None for HTML, empty, truncated, non-object or malformed bodies
    (invalid UTF-8, NaN/Infinity, numbers too big for a float, nesting too deep for json)."""
    if not body:
        return None
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        parsed = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def status_for_http(http_status: int) -> Status:
    """Only used when no body code decides."""
    if http_status == 429:
        return Status.RATE_LIMITED
    return Status.UNREACHABLE


def classify(http_status: int, body: bytes | str | None) -> Diagnosis:
    envelope = parse_body(body)
    if envelope is None:
        what = "an empty answer" if not body else "an answer that is not KuCoin JSON"
        return Diagnosis(
            status_for_http(http_status), "", http_status, f"HTTP {http_status}, {what}"
        )
    raw_code = envelope.get("code")
    code = clean_text(str(raw_code), limit=16) if isinstance(raw_code, str | int) else ""
    # KuCoin's words reach files and the terminal: cleaned and cut here, where they arrive.
    message = clean_message(str(envelope.get("msg") or ""))
    if code in CODE_STATUS:
        status = CODE_STATUS[code]
        if status is Status.OK and http_status != 200:
            # A success code with an error status is not a success we can trust.
            status = status_for_http(http_status)
        return Diagnosis(status, code, http_status, message, envelope.get("data"))
    if http_status == 429:
        return Diagnosis(Status.RATE_LIMITED, code, http_status, message)
    return Diagnosis(Status.UNREACHABLE, code, http_status, message or f"HTTP {http_status}")


class KucoinApiError(KucoinError):
    """A classified failure: ``status``/``code``/``http_status`` plus what to tell the user.

    ``rate_limit_reset_ms`` is set for rate limits, ``clock_offset_ms`` for clock skew.
    """

    def __init__(
        self,
        diagnosis: Diagnosis,
        *,
        what: str = "",
        clock_offset_ms: int | None = None,
        rate_limit_reset_ms: int | None = None,
        latency_ms: float = 0.0,
    ) -> None:
        detail = diagnosis.explanation
        if diagnosis.code:
            said = " ".join(p for p in (diagnosis.code, diagnosis.message) if p)
            detail += f" (KuCoin: {said})"
        elif diagnosis.message:
            detail += f" ({diagnosis.message})"  # no KuCoin envelope: transport or HTML answer
        if clock_offset_ms is not None and diagnosis.status is Status.CLOCK_SKEW:
            detail += f"; measured offset {clock_offset_ms} ms"
        if rate_limit_reset_ms is not None and diagnosis.status is Status.RATE_LIMITED:
            detail += f"; quota resets in {rate_limit_reset_ms / 1000:.1f} s"
        message = redact(f"{what}: {detail}" if what else detail)
        super().__init__(
            message,
            code=diagnosis.code,
            http_status=diagnosis.http_status,
            status=diagnosis.status.value,
            hint=diagnosis.action,
        )
        self.diagnosis = diagnosis
        self.kucoin_message = redact(diagnosis.message)
        self.clock_offset_ms = clock_offset_ms
        self.rate_limit_reset_ms = rate_limit_reset_ms
        self.latency_ms = latency_ms
