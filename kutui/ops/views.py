"""Which keys a list shows and in what order: the ``/`` filter's terms, "failing only", the sort
orders, and the status a key is shown with while KuCoin cannot be reached. Pure, no Textual: the
TUI's table and tree call these, so a rule lives here once (docs/architecture.md, "Use cases")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kutui.model import NOT_DEFINITE, ApiKey, Status
from kutui.ops.checks import failing
from kutui.store.history import HistoryEntry


def last_definite(history: Sequence[HistoryEntry]) -> HistoryEntry | None:
    """The newest result that said something about the key (not an outage, not a quota)."""
    return next((h for h in reversed(history) if h.status not in NOT_DEFINITE), None)


def shown_status(key: ApiKey, history: Sequence[HistoryEntry] = ()) -> tuple[Status, bool]:
    """The status to show for ``key`` and whether it is stale: during an outage (or a spent
    quota) the last definite result still stands, marked stale; with none, the outage itself."""
    if key.status in NOT_DEFINITE:
        known = last_definite(history)
        if known is not None:
            return known.status, True
    return key.status, False


@dataclass(frozen=True)
class Query:
    """A parsed ``/`` filter: plain words (substrings of the key's text), ``status:`` values and
    ``perm:`` values; every part must match (AND)."""

    words: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    perms: tuple[str, ...] = ()
    failing_only: bool = False

    @property
    def matches_all(self) -> bool:
        """Nothing to match: every key passes (``matches`` need not look at each)."""
        return not (self.words or self.statuses or self.perms or self.failing_only)


def parse_query(text: str, *, failing_only: bool = False) -> Query:
    words: list[str] = []
    statuses: list[str] = []
    perms: list[str] = []
    for word in text.lower().split():
        name, colon, value = word.partition(":")
        if colon and name == "status" and value:
            statuses.append(_norm(value))
        elif colon and name in ("perm", "perms") and value:
            perms.append(_norm(value))
        else:
            words.append(word)
    return Query(tuple(words), tuple(statuses), tuple(perms), failing_only)


def _norm(text: str) -> str:
    return text.lower().replace("-", "_").replace(" ", "_")


def status_matches(status: Status, value: str) -> bool:
    """``status:VALUE``: ``failing`` (anything but ok and unchecked), or a part of the status's
    name (``status:bad`` finds bad_passphrase and bad_secret)."""
    if value == "failing":
        return failing(status)
    return value in status.value


def matches(
    key: ApiKey, query: Query, history: Sequence[HistoryEntry] = (), extra: str = ""
) -> bool:
    """Whether ``key`` passes ``query``. ``extra``: more text the plain words may match (the
    status's badge, as the table shows it). A stale key is matched by what it is shown as and
    by the failed attempt (``status:unreachable`` still finds it)."""
    status, stale = shown_status(key, history)
    statuses = (status, key.status) if stale else (status,)
    if query.failing_only and not failing(status):
        return False
    for value in query.statuses:
        if not any(status_matches(s, value) for s in statuses):
            return False
    seen = [_norm(p) for p in key.permissions_seen]
    for value in query.perms:
        if not any(value in p for p in seen):
            return False
    if query.words:
        hay = " ".join(
            (
                str(key.ref),
                key.fingerprint,
                *(s.value for s in statuses),
                extra,
                ",".join(key.permissions_seen),
                key.ip_whitelist_seen,
            )
        ).lower()
        return all(word in hay for word in query.words)
    return True


#: The columns the table sorts by, in the order ``o`` cycles through them (None: as stored).
SORT_COLUMNS: tuple[str, ...] = (
    "label",
    "status",
    "age",
    "expiry",
    "fingerprint",
    "permissions",
    "ip",
    "checked",
)

_Key = Callable[[ApiKey, Sequence[HistoryEntry]], tuple[object, ...]]


def _when(value: datetime | None) -> tuple[object, ...]:
    # Unknown dates sort last ascending; timestamps so aware/naive never compare.
    return (1, 0.0) if value is None else (0, value.timestamp())


_SORT_KEYS: dict[str, _Key] = {
    "label": lambda k, h: (str(k.ref).lower(),),
    # Severity: the worst first (as stale statuses are shown, so the table reads top-down).
    "status": lambda k, h: (-shown_status(k, h)[0].severity, shown_status(k, h)[0].value),
    # Age ascending: the youngest first (newest creation date first).
    "age": lambda k, h: _when_desc(k.created_at or k.added_at),
    "expiry": lambda k, h: _when(k.expires_at()),
    "fingerprint": lambda k, h: (k.fingerprint.lower(),),
    "permissions": lambda k, h: (",".join(k.permissions_seen).lower(),),
    "ip": lambda k, h: (k.ip_whitelist_seen.lower(),),
    "checked": lambda k, h: _when_desc(k.last_check.checked_at if k.last_check else None),
}


def _when_desc(value: datetime | None) -> tuple[object, ...]:
    return (1, 0.0) if value is None else (0, -value.timestamp())


def sort_keys(
    keys: Sequence[ApiKey],
    column: str | None,
    *,
    reverse: bool = False,
    history: Callable[[str], Sequence[HistoryEntry]] = lambda _id: (),
) -> list[ApiKey]:
    """``keys`` ordered by ``column`` (stable: ties keep their stored order, then by ref);
    ``None`` keeps the stored order. ``reverse`` flips the whole order."""
    if column is None:
        ordered = list(keys)
    else:
        sort_key = _SORT_KEYS[column]
        ordered = sorted(keys, key=lambda k: (*sort_key(k, history(k.id)), str(k.ref).lower()))
    if reverse:
        ordered.reverse()
    return ordered


def next_failing(
    keys: Sequence[ApiKey],
    start: int,
    *,
    step: int = 1,
    history: Callable[[str], Sequence[HistoryEntry]] = lambda _id: (),
) -> int | None:
    """The index of the next key after ``start`` (before it with ``step=-1``), going round,
    whose shown status is failing; None when no key is."""
    count = len(keys)
    for offset in range(1, count + 1):
        index = (start + step * offset) % count
        key = keys[index]
        if failing(shown_status(key, history(key.id))[0]):
            return index
    return None
