"""Plain data: accounts, sub-accounts, key metadata, permission notes and check results.

No I/O here and nothing secret in the clear: the credentials' values live only in the vault
(``kutui.store.vault``) and travel as ``kutui.secret.Secret`` (``Credential`` holds three).
Everything else in this module may be written to accounts.toml and shown on screen.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from kutui.secret import Secret
from kutui.text import control_problem

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
#: Permissions KuCoin lets the API give a sub-account key (the rest are set on the web only).
SUB_KEY_PERMISSIONS = ("General", "Spot", "Futures", "Margin", "InnerTransfer")
#: Permissions that move or trade funds: without an IP whitelist they are a risk.
TRADING_PERMISSIONS = frozenset({"Spot", "Margin", "Futures", "LeadtradeFutures"})
WITHDRAWAL_PERMISSIONS = frozenset({"Withdrawal", "Transfer", "InnerTransfer", "FlexTransfers"})
#: Expiry choices for sub-account keys created through the API (days; -1 = never).
EXPIRE_CHOICES = (-1, 30, 90, 180, 360)


class Status(StrEnum):
    """The outcome of one health check (docs/architecture.md, "Key health")."""

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

#: Results that say nothing about the key itself: the network or KuCoin's quota failed.
NOT_DEFINITE = frozenset({Status.UNREACHABLE, Status.RATE_LIMITED})


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

# Full matches only, everywhere: with ``match`` and ``$`` a name could end in a newline.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")


def valid_name(name: object) -> bool:
    """Account, sub-account and label names: 1-64 of letters, digits and ``._@+-``."""
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


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


class ConsumerKind(StrEnum):
    """Where a consumer reads its key (README.md, "Consumers")."""

    ENVFILE = "envfile"  # NAME=value lines: systemd EnvironmentFile=, docker --env-file
    FREQTRADE = "freqtrade"  # freqtrade's config JSON: exchange.key / secret / password
    PASSIVBOT = "passivbot"  # passivbot's api-keys.json: {"<user>": {...}}
    CCXT_JSON = "ccxt-json"  # {"apiKey", "secret", "password"}
    COMMAND = "command"  # the user's command, credentials as JSON on its stdin
    MANUAL = "manual"  # a person switches it

    @property
    def automatic(self) -> bool:
        """kutui writes it and checks the result itself (everything but ``manual``)."""
        return self is not ConsumerKind.MANUAL

    @property
    def is_file(self) -> bool:
        return self in _FILE_KINDS


_FILE_KINDS = frozenset(
    {ConsumerKind.ENVFILE, ConsumerKind.FREQTRADE, ConsumerKind.PASSIVBOT, ConsumerKind.CCXT_JSON}
)
#: ``<PREFIX>_KEY``, ``<PREFIX>_SECRET``, ``<PREFIX>_PASSPHRASE``: the names ccxt scripts use most.
DEFAULT_ENV_PREFIX = "KUCOIN_API"
_ENV_PREFIX_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class DeliveryStatus(StrEnum):
    """The outcome of the last delivery to a consumer."""

    DELIVERING = "delivering"  # written ahead of the write: the target may hold either key
    DELIVERED = "delivered"  # written, read back, reload (if any) exited 0
    RELOAD_FAILED = "reload_failed"  # written and read back; the reload command failed
    FAILED = "failed"  # not written (refused or could not be verified)
    TICKED = "ticked"  # a person said it uses the key (manual consumers)

    @property
    def holds_key(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.TICKED)


@dataclass(frozen=True)
class Delivery:
    """What kutui last gave a consumer: when, which key (fingerprint), how it went."""

    at: datetime
    fingerprint: str
    status: DeliveryStatus
    detail: str = ""  # one line, never a secret (paths, exit codes, reasons)


@dataclass(frozen=True)
class Consumer:
    """One program that reads a key: a bot's config file, an env file, a command, or a person.

    ``target`` is the file's absolute path for file kinds and the command line for ``command``;
    ``user`` is passivbot's user name; ``reload`` an optional command run after a delivery."""

    key_id: str
    name: str
    kind: ConsumerKind
    target: str = ""
    user: str = ""
    reload: str = ""
    env_prefix: str = DEFAULT_ENV_PREFIX
    last_delivery: Delivery | None = None

    @property
    def env_names(self) -> tuple[str, str, str]:
        return env_names(self.env_prefix)


def env_names(prefix: str = DEFAULT_ENV_PREFIX) -> tuple[str, str, str]:
    """The environment names of a key's three credentials under ``prefix``."""
    return (f"{prefix}_KEY", f"{prefix}_SECRET", f"{prefix}_PASSPHRASE")


def consumer_name_problem(name: object) -> str | None:
    """Consumer names: 1-64 printable characters (a note's free text fits), no slash."""
    if not isinstance(name, str) or not name.strip():
        return "the consumer name is empty"
    problem = control_problem(name)
    if problem:
        return f"the consumer name {problem}"
    if name != name.strip() or len(name) > 64 or "/" in name:
        return "the consumer name must be 1-64 characters, without a slash or outer spaces"
    return None


def consumer_problem(consumer: Consumer) -> str | None:
    """The first thing that makes ``consumer`` unusable, or None (one rule for CLI, TUI, import)."""
    problem = consumer_name_problem(consumer.name)
    if problem:
        return problem
    for what, value in (
        ("target", consumer.target),
        ("user", consumer.user),
        ("reload command", consumer.reload),
    ):
        problem = control_problem(value)
        if problem:
            return f"consumer {consumer.name}: the {what} {problem}"
    kind = consumer.kind
    if kind.is_file and not consumer.target.startswith("/"):
        return f"consumer {consumer.name}: a {kind} consumer needs an absolute --path"
    if kind is ConsumerKind.COMMAND and not consumer.target.strip():
        return f"consumer {consumer.name}: a command consumer needs --command"
    if kind is ConsumerKind.MANUAL and (consumer.target or consumer.reload):
        return f"consumer {consumer.name}: a manual consumer has no path, command or reload"
    if kind is ConsumerKind.PASSIVBOT and not consumer.user:
        return (
            f"consumer {consumer.name}: a passivbot consumer needs --user (its api-keys.json key)"
        )
    if kind is not ConsumerKind.PASSIVBOT and consumer.user:
        return f"consumer {consumer.name}: --user is for passivbot consumers only"
    if _ENV_PREFIX_RE.fullmatch(consumer.env_prefix) is None:
        return f"consumer {consumer.name}: the env prefix must be letters, digits and _"
    return None


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


@dataclass(frozen=True)
class Credential:
    """One key's credentials in one vault slot. ``api_version`` is KuCoin's key version (1, 2, 3).

    Plain data like the rest of this module, so ``kucoin/`` (which signs with it) and ``store/``
    (whose vault holds it) share it without importing each other; only its ``Secret`` fields
    are secret, and they never print."""

    api_key: Secret
    api_secret: Secret
    passphrase: Secret
    api_version: int = 3
    saved_at: datetime | None = None


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


@dataclass(frozen=True)
class RotationDue:
    """A key past the rotation policy (``[rotation] max_key_age_days`` in config.toml)."""

    key_id: str
    age_days: int
    max_days: int

    @property
    def message(self) -> str:
        return f"key is {self.age_days} days old; rotate it (policy: at most {self.max_days} days)"


def rotation_due(key: ApiKey, max_days: int, now: datetime) -> RotationDue | None:
    """``RotationDue`` when the key's age (``ApiKey.age``) passes ``max_days``; the one rule, for
    the audit (``kutui/checks/audit.py``) and whatever else asks whether a key is due.

    A policy of 0 or less turns the check off; a key of unknown age is never reported due.
    """
    if max_days <= 0:
        return None
    age = key.age(now)
    if age is None or age <= timedelta(days=max_days):
        return None
    return RotationDue(key.id, age.days, max_days)


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

    def key_counts(self) -> Counter[tuple[str, str]]:
        """Keys per (account, sub-account; "" for the master) in one pass over the keys.

        Counting with ``keys_under`` per node is nodes x keys: minutes at 10,000 keys.
        """
        return Counter((k.ref.account, k.ref.sub) for k in self.keys)


# --------------------------------------------------------------------------- pasted input

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def clean_pasted(value: str) -> str:
    """Strip surrounding whitespace and zero-width characters that pasting drags along."""
    value = "".join(ch for ch in value if ch not in _INVISIBLE)
    return value.strip()


_API_KEY_RE = re.compile(r"[0-9a-f]{24}")
_SECRET_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: KuCoin's passphrase rule for API keys: 7-32 printable ASCII characters, no spaces. It is sent
#: in a header (a V1 key's in clear), so anything else could not even be sent.
_PASSPHRASE_RE = re.compile(r"[!-~]{7,32}")
SECRET_MAX_LENGTH = 128


def api_key_problem(api_key: str) -> str | None:
    if _API_KEY_RE.fullmatch(api_key) is None:
        return "the API key must be 24 lowercase hex characters"
    return None


def secret_problem(secret: str) -> str | None:
    """What makes ``secret`` unusable as an API secret (it signs every request), or None."""
    problem = control_problem(secret)
    if problem:
        return f"the API secret {problem}"
    if not secret:
        return "the API secret is empty"
    if len(secret) > SECRET_MAX_LENGTH:
        return f"the API secret is longer than {SECRET_MAX_LENGTH} characters"
    if any(ch.isspace() for ch in secret):
        return "the API secret must not contain spaces"
    if not secret.isascii() or not secret.isprintable():
        return "the API secret must be printable ASCII"
    return None


def secret_warning(secret: str) -> str | None:
    """KuCoin secrets look like UUIDs; anything else is only a warning (the shape is observed)."""
    if _SECRET_RE.fullmatch(secret) is None:
        return "the API secret does not look like a KuCoin secret (a UUID); stored anyway"
    return None


def passphrase_problem(passphrase: str) -> str | None:
    problem = control_problem(passphrase)
    if problem:
        return f"the API passphrase {problem}"
    length = len(passphrase)
    if length < 7 or length > 32:
        return f"the API passphrase must be 7 to 32 characters (got {length})"
    if any(ch.isspace() for ch in passphrase):
        return "the API passphrase must not contain spaces"
    if _PASSPHRASE_RE.fullmatch(passphrase) is None:
        shape = "it is not NFC-normalised, " if not _is_nfc(passphrase) else ""
        return (
            f"the API passphrase must be printable ASCII ({shape}KuCoin allows letters, digits "
            "and symbols such as !#%+-=@^_~)"
        )
    return None


#: Length of a generated API passphrase: KuCoin's maximum, so it is as strong as allowed.
PASSPHRASE_LENGTH = 32
#: Letters, digits and the symbols KuCoin's web form accepts (passphrase_problem's message).
_PASSPHRASE_ALPHABET = string.ascii_letters + string.digits + "!#%+-=@^_~"


def generate_passphrase(length: int = PASSPHRASE_LENGTH) -> Secret:
    """A random API passphrase to KuCoin's rules (``passphrase_problem``): 7-32 characters, no
    spaces. The one generator: sub-key rotation, the master-key flow's suggestion and
    ``kutui passphrase`` all call it."""
    import secrets  # here: it pulls in random, which reading commands never need

    if not 7 <= length <= 32:
        raise ValueError("KuCoin passphrases are 7 to 32 characters")
    while True:
        value = "".join(secrets.choice(_PASSPHRASE_ALPHABET) for _ in range(length))
        # Letters and digits both present: some KuCoin forms insist on a mix.
        mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        if mixed and passphrase_problem(value) is None:
            return Secret(value)


def _is_nfc(text: str) -> bool:
    return unicodedata.normalize("NFC", text) == text


def credential_problem(api_key: str, secret: str, passphrase: str) -> str | None:
    """The first problem of a key's three credentials, naming the field and never the value.

    The one check at every boundary a credential crosses: ``kutui key add``, import files, the
    TUI's key form, a master-key rotation, and the secret in KuCoin's sub-key create answer.
    """
    return api_key_problem(api_key) or secret_problem(secret) or passphrase_problem(passphrase)


# --------------------------------------------------------------------------- API URLs

API_URL_RULE = (
    "must be http(s)://host[:port] (plain http only to a loopback address such as 127.0.0.1), "
    "with no path, query, fragment or user name, for example https://api.kucoin.com"
)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url_problem(value: object) -> str | None:
    """None if ``value`` is a bare origin kutui may send credentials to.

    https to any host, or http only to a loopback address (``kutui simulate``): plain HTTP to a
    remote host would carry signed headers (and a V1 passphrase in clear) over the network. No
    path, query, fragment or credentials: the signed path is appended to this origin.
    """
    if not isinstance(value, str) or not value:
        return f"is empty; it {API_URL_RULE}"
    problem = control_problem(value)
    if problem or any(ch.isspace() for ch in value):
        return f"{problem or 'contains a space'}; it {API_URL_RULE}"
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return f"has an invalid port or host; it {API_URL_RULE}"
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or value.endswith(("?", "#"))
        or parts.path not in ("", "/")
    ):
        return API_URL_RULE
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return f"uses plain http to a remote host; it {API_URL_RULE}"
    return None


def fingerprint(api_key: str) -> str:
    return api_key[-4:]
