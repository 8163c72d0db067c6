"""Plain data: accounts, sub-accounts, key metadata, permission notes and check results.

No I/O here and nothing secret: the credentials themselves live only in the vault
(``kutui.store.vault``) and travel as ``kutui.secret.Secret``. Everything in this module may be
written to accounts.toml and shown on screen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_API_URL = "https://api.kucoin.com"

#: Permission names KuCoin uses (key-info responses and the web UI), in display order.
PERMISSIONS: tuple[str, ...] = (
    "General",
    "Spot",
    "Margin",
    "Futures",
    "Earn",
    "InnerTransfer",
    "Transfer",
    "Withdrawal",
    "FlexTransfers",
    "LeadtradeFutures",
)
#: Permissions that move or trade funds: without an IP whitelist they are a risk.
TRADING_PERMISSIONS = frozenset({"Spot", "Margin", "Futures", "LeadtradeFutures"})
WITHDRAWAL_PERMISSIONS = frozenset({"Withdrawal", "Transfer", "InnerTransfer", "FlexTransfers"})
#: Expiry choices for sub-account keys created through the API (days; -1 = never).
EXPIRE_CHOICES = (-1, 30, 90, 180, 360)


class Status(StrEnum):
    """The outcome of one health check (design.md, "Key health")."""

    OK = "ok"
    INVALID_KEY = "invalid_key"
    BAD_PASSPHRASE = "bad_passphrase"  # noqa: S105  # nosec B105  # a status
    BAD_SECRET = "bad_secret"  # noqa: S105  # nosec B105  # a status
    IP_DENIED = "ip_denied"
    PERMISSION_DENIED = "permission_denied"
    UNSUPPORTED_VERSION = "unsupported_version"
    FROZEN = "frozen"
    CLOCK_SKEW = "clock_skew"
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    UNCHECKED = "unchecked"

    @property
    def healthy(self) -> bool:
        return self is Status.OK

    @property
    def severity(self) -> int:
        """Higher is worse; used to sort tables and to pick a node's worst status."""
        return _SEVERITY[self]


_SEVERITY: dict[Status, int] = {
    Status.OK: 0,
    Status.UNCHECKED: 1,
    Status.RATE_LIMITED: 2,
    Status.UNREACHABLE: 3,
    Status.CLOCK_SKEW: 4,
    Status.PERMISSION_DENIED: 5,
    Status.UNSUPPORTED_VERSION: 6,
    Status.IP_DENIED: 7,
    Status.FROZEN: 8,
    Status.BAD_SECRET: 9,
    Status.BAD_PASSPHRASE: 9,
    Status.INVALID_KEY: 10,
}


class Slot(StrEnum):
    """Vault slots for one key's credentials (AWS Secrets Manager's labels)."""

    CURRENT = "CURRENT"
    PENDING = "PENDING"
    PREVIOUS = "PREVIOUS"


class RemoteState(StrEnum):
    """What kutui last learned about the key's existence on KuCoin."""

    UNKNOWN = "unknown"
    PRESENT = "present"
    MISSING = "missing"  # gone from KuCoin (import saw it vanish, or a check got 400003)


def now_utc() -> datetime:
    """Now, from the process clock (``kutui.clock.current``); pass a ``Clock`` where one exists."""
    from kutui.clock import current

    return current().now()


# --------------------------------------------------------------------------- references

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def valid_name(name: str) -> bool:
    """Account, sub-account and label names: 1-64 of letters, digits and ``._@+-``."""
    return bool(_NAME_RE.match(name))


@dataclass(frozen=True, order=True)
class KeyRef:
    """``ACCOUNT/LABEL`` (a master-account key) or ``ACCOUNT/SUB/LABEL`` (a sub-account key)."""

    account: str
    sub: str
    label: str

    @classmethod
    def parse(cls, text: str) -> KeyRef:
        parts = text.strip().split("/")
        if len(parts) == 2:
            account, label = parts
            sub = ""
        elif len(parts) == 3:
            account, sub, label = parts
        else:
            raise ValueError(f"{text!r} is not ACCOUNT/LABEL or ACCOUNT/SUB/LABEL")
        for part in (account, sub, label) if sub else (account, label):
            if not valid_name(part):
                raise ValueError(
                    f"{part!r} in {text!r} is not a valid name "
                    "(1-64 letters, digits or . _ @ + -, starting with a letter or digit)"
                )
        return cls(account, sub, label)

    @property
    def owner(self) -> str:
        """``ACCOUNT`` or ``ACCOUNT/SUB``: the node the key belongs to."""
        return f"{self.account}/{self.sub}" if self.sub else self.account

    def __str__(self) -> str:
        return f"{self.owner}/{self.label}"


# --------------------------------------------------------------------------- registry records


@dataclass
class PermissionNote:
    """What the key is for, what it should be allowed to do and who uses it."""

    text: str = ""
    expected_permissions: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.text or self.expected_permissions or self.consumers)


@dataclass
class CheckResult:
    """One health check of one key. Never holds a secret."""

    status: Status
    checked_at: datetime
    code: str = ""
    http_status: int = 0
    message: str = ""
    latency_ms: float = 0.0
    permissions: tuple[str, ...] = ()
    ip_whitelist: str = ""
    api_version: int | None = None
    uid: int | None = None
    is_master: bool | None = None
    sub_name: str = ""
    remark: str = ""
    created_at: datetime | None = None
    clock_offset_ms: int | None = None
    rate_limit_reset_ms: int | None = None


@dataclass
class SubAccount:
    name: str
    uid: int | None = None
    remote: RemoteState = RemoteState.UNKNOWN
    remark: str = ""


@dataclass
class Account:
    """A KuCoin master account and the sub-accounts kutui knows of."""

    name: str
    api_url: str = DEFAULT_API_URL
    uid: int | None = None
    remark: str = ""
    subaccounts: list[SubAccount] = field(default_factory=list)

    def sub(self, name: str) -> SubAccount | None:
        return next((s for s in self.subaccounts if s.name == name), None)


@dataclass
class ApiKey:
    """Metadata for one API key. The key, secret and passphrase are in the vault under ``id``."""

    id: str
    ref: KeyRef
    fingerprint: str = ""  # last 4 characters of the API key
    api_version: int = 3
    created_at: datetime | None = None  # on KuCoin (createdAt), when known
    added_at: datetime | None = None  # to kutui
    expire_days: int = -1  # chosen at creation; -1 = never
    permissions_seen: tuple[str, ...] = ()
    ip_whitelist_seen: str = ""
    remark: str = ""
    remote: RemoteState = RemoteState.UNKNOWN
    has_secret: bool = False  # the vault holds a CURRENT credential for it
    note: PermissionNote = field(default_factory=PermissionNote)
    last_check: CheckResult | None = None

    @property
    def status(self) -> Status:
        return self.last_check.status if self.last_check else Status.UNCHECKED

    def age(self, now: datetime) -> timedelta | None:
        start = self.created_at or self.added_at
        return now - start if start else None

    def expires_at(self) -> datetime | None:
        if self.expire_days < 0 or self.created_at is None:
            return None
        return self.created_at + timedelta(days=self.expire_days)


@dataclass
class Registry:
    """Everything in accounts.toml."""

    accounts: list[Account] = field(default_factory=list)
    keys: list[ApiKey] = field(default_factory=list)

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)

    def key(self, ref: KeyRef) -> ApiKey | None:
        return next((k for k in self.keys if k.ref == ref), None)

    def key_by_id(self, key_id: str) -> ApiKey | None:
        return next((k for k in self.keys if k.id == key_id), None)

    def keys_under(self, account: str, sub: str | None = None) -> list[ApiKey]:
        """Keys of an account (``sub=None``: master and every sub-account), or of one node."""
        return [
            k for k in self.keys if k.ref.account == account and (sub is None or k.ref.sub == sub)
        ]


# --------------------------------------------------------------------------- pasted input

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def clean_pasted(value: str) -> str:
    """Strip surrounding whitespace and zero-width characters that pasting drags along."""
    value = "".join(ch for ch in value if ch not in _INVISIBLE)
    return value.strip()


_API_KEY_RE = re.compile(r"^[0-9a-f]{24}$")
_SECRET_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def api_key_problem(api_key: str) -> str | None:
    if not _API_KEY_RE.match(api_key):
        return "the API key must be 24 lowercase hex characters"
    return None


def secret_warning(secret: str) -> str | None:
    """KuCoin secrets look like UUIDs; anything else is only a warning (the shape is observed)."""
    if not _SECRET_RE.match(secret):
        return "the API secret does not look like a KuCoin secret (a UUID); stored anyway"
    return None


def passphrase_problem(passphrase: str) -> str | None:
    length = len(passphrase)
    if length < 7 or length > 32:
        return f"the API passphrase must be 7 to 32 characters (got {length})"
    if any(ch.isspace() for ch in passphrase):
        return "the API passphrase must not contain spaces"
    if unicodedata.normalize("NFC", passphrase) != passphrase:
        return "the API passphrase must be plain text (it is not NFC-normalised)"
    return None


def fingerprint(api_key: str) -> str:
    return api_key[-4:]
