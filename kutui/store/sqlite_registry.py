"""The registry and check history in kutui.db, row by row (docs/storage.md has the schema).

``RegistryStore`` reads (each read one consistent WAL snapshot) and opens write transactions::

    store = RegistryStore.open(paths.data_dir)
    registry = store.snapshot()              # the whole registry, for the TUI and exports
    with store.write() as tx:                # one transaction: all of it or none of it
        tx.put_key(key)
        tx.record_results([(key.id, result)])

The types in and out are ``kutui.model``'s dataclasses and ``kutui.store.history.HistoryEntry``.
A check result is recorded with ``kutui.store.learn.apply_result``, the rule the TOML path uses.
Nothing here is secret: the credentials stay in the vault.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, TypeVar

from kutui.errors import KeyNotFound, KutuiError, RegistryError, UsageError
from kutui.model import (
    NOT_DEFINITE,
    Account,
    ApiKey,
    CheckResult,
    Consumer,
    ConsumerKind,
    Delivery,
    DeliveryStatus,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    Status,
    SubAccount,
    api_url_problem,
    consumer_problem,
    valid_name,
)
from kutui.store.db import DEFAULT_TIMEOUT, Database, db_path
from kutui.store.gc_pause import no_gc_pauses
from kutui.store.history import MAX_ENTRIES, History, HistoryEntry
from kutui.store.learn import apply_results

T = TypeVar("T")

# --------------------------------------------------------------------------- row codecs


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _texts(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False) if values else "[]"


# json.loads without its whitespace checks: these columns hold only what _texts and check_to_json
# wrote (compact JSON), and snapshot() decodes three of them per key.
_raw_decode = json.JSONDecoder().raw_decode


@functools.lru_cache(maxsize=4096)
def _parse_texts(text: str) -> tuple[str, ...]:
    """Cached: most keys share a handful of permission lists, and tuples can be shared."""
    return () if text == "[]" else tuple(_raw_decode(text)[0])


# Enum(value) goes through EnumMeta.__call__; a dict lookup is several times cheaper per row.
_STATUS = {s.value: s for s in Status}
_REMOTE = {r.value: r for r in RemoteState}


def check_to_json(result: CheckResult) -> str:
    """A JSON array in ``CheckResult`` field order (a snapshot decodes one per key: no names)."""
    return json.dumps(
        [
            result.status.value,
            result.checked_at.isoformat(),
            result.code,
            result.http_status,
            result.message,
            result.latency_ms,
            list(result.permissions),
            result.ip_whitelist,
            result.api_version,
            result.uid,
            result.is_master,
            result.sub_name,
            result.remark,
            _when(result.created_at),
            result.clock_offset_ms,
            result.rate_limit_reset_ms,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def check_from_json(text: str) -> CheckResult:
    d: list[Any] = _raw_decode(text)[0]
    return CheckResult(
        _STATUS[d[0]],
        datetime.fromisoformat(d[1]),
        d[2],
        d[3],
        d[4],
        d[5],
        tuple(d[6]),
        d[7],
        d[8],
        d[9],
        d[10],
        d[11],
        d[12],
        None if d[13] is None else datetime.fromisoformat(d[13]),
        d[14],
        d[15],
    )


_KEY_COLUMNS = (
    "id, account, sub, label, fingerprint, api_version, created_at, added_at, expire_days, "
    "permissions_seen, ip_whitelist_seen, remark, remote, has_secret, note_text, note_expected, "
    "note_consumers, last_check"
)


def _key_row(key: ApiKey) -> tuple[object, ...]:
    return (
        key.id,
        key.ref.account,
        key.ref.sub or None,
        key.ref.label,
        key.fingerprint,
        key.api_version,
        _when(key.created_at),
        _when(key.added_at),
        key.expire_days,
        _texts(key.permissions_seen),
        key.ip_whitelist_seen,
        key.remark,
        key.remote.value,
        int(key.has_secret),
        key.note.text,
        _texts(key.note.expected_permissions),
        _texts(key.note.consumers),
        check_to_json(key.last_check) if key.last_check is not None else None,
    )


def key_row(key: ApiKey) -> tuple[object, ...]:
    """A key as its kutui.db row (``KEY_COLUMNS`` order, as ``RegistryStore.key_rows`` reads
    it): ``kutui key list --json`` writes its records from rows, without ``ApiKey`` objects."""
    return _key_row(key)


#: The columns of ``key_row`` and ``RegistryStore.key_rows``, in order.
KEY_COLUMNS = tuple(name.strip() for name in _KEY_COLUMNS.split(","))

# --------------------------------------------------------------------------- key list --json

_UNCHECKED = encode_basestring(Status.UNCHECKED.value)
_STATUS_TEXTS = frozenset(encode_basestring(s.value) for s in Status)


def _plain_text(token: str) -> bool:
    """True for a JSON string token whose content needs no escape: ``"`` + printable + ``"``."""
    return (
        token.isprintable()
        and token.count('"') == 2
        and token[0] == token[-1] == '"'
        and "\\" not in token
    )


def _check_head(text: str, plain: set[str]) -> tuple[str, str]:
    """The status and checked_at of a ``check_to_json`` array, as JSON text.

    That array starts ``["<status>","<checked_at>",`` (compact): a ``Status`` value and an
    isoformat never need escaping, so both are cut out as they stand, without decoding the
    other fourteen items; ``plain`` remembers the times seen so (a check run gives many keys
    the same second). Anything else (a row this module did not write) is decoded."""
    head = text[1:].split(",", 2)
    if len(head) == 3 and head[0] in _STATUS_TEXTS:
        if head[1] in plain:
            return head[0], head[1]
        if _plain_text(head[1]):
            plain.add(head[1])
            return head[0], head[1]
    items = _raw_decode(text)[0]
    return encode_basestring(items[0]), encode_basestring(items[1])


def key_list_json(rows: Iterable[Sequence[Any]], schema: int) -> str:
    """``kutui key list --json``: ``{"schema": schema, "keys": [...]}`` with one record per row
    (``KEY_COLUMNS``, in the order listed). The one definition of that record
    (kutui/data/schemas/key-list.schema.json).

    The text is what ``json.dumps(document, indent=2, ensure_ascii=False)`` writes (the encoder
    in kutui/commands/jsondump.py; tests/cli/test_key_list_rows.py holds the two equal), but
    built straight from the rows, one f-string per record: at 10,000 keys the listing must take
    0.3 s in all (bench/yardstick.py). Not yet terminal-safe (kutui.text.json_terminal_safe)."""
    quote = encode_basestring
    lists: dict[str, str] = {"[]": "[]"}  # a list column's text → its indented JSON
    plain: set[str] = set()

    def listed(text: str) -> str:
        found = lists.get(text)
        if found is None:
            items = ",\n        ".join(map(quote, _parse_texts(text)))
            found = lists[text] = f"[\n        {items}\n      ]" if items else "[]"
        return found

    records: list[str] = []
    for (
        key_id, account, sub, label, fingerprint, api_version, created_at, added_at,
        expire_days, permissions, ip_whitelist, _remark, remote, has_secret, note_text,
        note_expected, note_consumers, check,
    ) in rows:  # fmt: skip
        status, checked = _check_head(check, plain) if check is not None else (_UNCHECKED, "null")
        ref = f"{account}/{sub}/{label}" if sub else f"{account}/{label}"  # KeyRef.__str__
        records.append(
            f"""{{
      "ref": {quote(ref)},
      "account": {quote(account)},
      "sub": {quote(sub or "")},
      "label": {quote(label)},
      "id": {quote(key_id)},
      "fingerprint": {quote(fingerprint)},
      "api_version": {api_version},
      "status": {status},
      "has_secret": {"true" if has_secret else "false"},
      "added_at": {"null" if added_at is None else quote(added_at)},
      "created_at": {"null" if created_at is None else quote(created_at)},
      "expire_days": {expire_days},
      "remote": {quote(remote)},
      "permissions_seen": {lists.get(permissions) or listed(permissions)},
      "ip_whitelist_seen": {quote(ip_whitelist)},
      "last_checked_at": {checked},
      "note": {quote(note_text)},
      "expected_permissions": {lists.get(note_expected) or listed(note_expected)},
      "consumers": {lists.get(note_consumers) or listed(note_consumers)}
    }}"""
        )
    keys = "[\n    " + ",\n    ".join(records) + "\n  ]" if records else "[]"
    return f'{{\n  "schema": {schema},\n  "keys": {keys}\n}}'


def _key_from(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        id=row[0],
        ref=KeyRef(row[1], row[2] or "", row[3]),
        fingerprint=row[4],
        api_version=row[5],
        created_at=_parse_when(row[6]),
        added_at=_parse_when(row[7]),
        expire_days=row[8],
        permissions_seen=_parse_texts(row[9]),
        ip_whitelist_seen=row[10],
        remark=row[11],
        remote=_REMOTE[row[12]],
        has_secret=bool(row[13]),
        note=PermissionNote(row[14], _parse_texts(row[15]), _parse_texts(row[16])),
        last_check=check_from_json(row[17]) if row[17] is not None else None,
    )


_CONSUMER_COLUMNS = (
    "key_id, name, kind, target, username, reload, env_prefix, delivered_at, "
    "delivered_fingerprint, delivery_status, delivery_detail"
)


def _consumer_from(row: Sequence[Any]) -> Consumer:
    delivery = None
    if row[7] is not None and row[9]:
        delivery = Delivery(datetime.fromisoformat(row[7]), row[8], DeliveryStatus(row[9]), row[10])
    return Consumer(
        key_id=row[0],
        name=row[1],
        kind=ConsumerKind(row[2]),
        target=row[3],
        user=row[4],
        reload=row[5],
        env_prefix=row[6],
        last_delivery=delivery,
    )


def _history_from(row: Sequence[Any]) -> HistoryEntry:
    return HistoryEntry(datetime.fromisoformat(row[0]), _STATUS[row[1]], row[2], row[3], row[4])


# --------------------------------------------------------------------------- reads


class _Reads:
    """Queries shared by the store (in a read transaction) and a write transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self.db.reading() as conn:
            yield conn

    def _accounts(
        self,
        conn: sqlite3.Connection,
        name: str | None = None,
        *,
        names: Sequence[str] | None = None,
    ) -> list[Account]:
        where, args = "", tuple[str, ...]()
        if name is not None:
            where, args = "WHERE name = ?", (name,)
        if names is not None:
            where, args = f"WHERE name IN ({', '.join('?' * len(names))})", tuple(names)
        accounts = {
            row[0]: Account(row[0], row[1], row[2], row[3])
            for row in conn.execute(
                f"SELECT name, api_url, uid, remark FROM accounts {where} ORDER BY seq",  # noqa: S608  # nosec B608
                args,
            )
        }
        where = "WHERE account" + where[len("WHERE name") :] if where else ""
        for row in conn.execute(
            f"SELECT account, name, uid, remote, remark FROM subaccounts {where} ORDER BY seq",  # noqa: S608  # nosec B608
            args,
        ):
            accounts[row[0]].subaccounts.append(
                SubAccount(row[1], row[2], RemoteState(row[3]), row[4])
            )
        return list(accounts.values())

    def _keys(
        self, conn: sqlite3.Connection, where: str = "", args: Sequence[object] = ()
    ) -> list[ApiKey]:
        rows = conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM keys {where} ORDER BY seq",  # noqa: S608  # nosec B608
            args,
        )
        return [_key_from(row) for row in rows]

    def snapshot(self) -> Registry:
        """The whole registry, as one consistent read."""
        with self._conn() as conn, no_gc_pauses():
            return Registry(accounts=self._accounts(conn), keys=self._keys(conn))

    def key_rows(self, account: str | None = None, sub: str | None = None) -> list[tuple[Any, ...]]:
        """The rows (``KEY_COLUMNS``, undecoded) of every key, or of ``account``'s keys (``sub``
        None: all of them; else that node's), in ``KeyRef`` order (the keys_ref index's)."""
        where, args = "", []
        if account is not None:
            where, args = "WHERE account = ?", [account]
            if sub is not None:
                where, args = "WHERE account = ? AND coalesce(sub, '') = ?", [account, sub]
        with self._conn() as conn:
            rows: list[tuple[Any, ...]] = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM keys {where} "  # noqa: S608  # nosec B608
                "ORDER BY account, coalesce(sub, ''), label",
                args,
            ).fetchall()
            return rows

    def subset(self, names: Iterable[str]) -> Registry:
        """The accounts named (those that exist) and every key under them, in registry order:
        a ``Registry`` that answers about those accounts as ``snapshot()`` would, at the cost
        of their rows only (``kutui check ACCOUNT/LABEL`` on a 10,000-key registry)."""
        wanted = sorted(set(names))
        if not wanted or len(wanted) > 500:  # SQLite's host-parameter limit: refs are few
            return self.snapshot() if wanted else Registry()
        marks = ", ".join("?" * len(wanted))
        with self._conn() as conn, no_gc_pauses():
            return Registry(
                accounts=self._accounts(conn, names=wanted),
                keys=self._keys(conn, f"WHERE account IN ({marks})", wanted),
            )

    def account(self, name: str) -> Account | None:
        with self._conn() as conn:
            found = self._accounts(conn, name)
        return found[0] if found else None

    def key(self, ref: KeyRef) -> ApiKey | None:
        with self._conn() as conn:
            found = self._keys(
                conn,
                "WHERE account = ? AND coalesce(sub, '') = ? AND label = ?",
                (ref.account, ref.sub, ref.label),
            )
        return found[0] if found else None

    def key_by_id(self, key_id: str) -> ApiKey | None:
        with self._conn() as conn:
            found = self._keys(conn, "WHERE id = ?", (key_id,))
        return found[0] if found else None

    def keys_under(self, account: str, sub: str | None = None) -> list[ApiKey]:
        """Keys of an account (``sub=None``: master and every sub-account), or of one node."""
        with self._conn() as conn:
            if sub is None:
                return self._keys(conn, "WHERE account = ?", (account,))
            return self._keys(conn, "WHERE account = ? AND coalesce(sub, '') = ?", (account, sub))

    def history(self, key_id: str) -> list[HistoryEntry]:
        """The key's last results, oldest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT checked_at, status, code, http_status, latency_ms FROM history "
                "WHERE key_id = ? ORDER BY id",
                (key_id,),
            )
            return [_history_from(row) for row in rows]

    def consumers(self, key_id: str | None = None) -> list[Consumer]:
        """A key's consumers in the order they were added (every key's with ``None``)."""
        where, args = ("WHERE key_id = ?", (key_id,)) if key_id is not None else ("", ())
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_CONSUMER_COLUMNS} FROM consumers {where} ORDER BY seq, name",  # noqa: S608  # nosec B608
                args,
            )
            return [_consumer_from(row) for row in rows]

    def meta(self, name: str) -> str | None:
        with self._conn() as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def last_definite(self, key_ids: Iterable[str]) -> History:
        """Per key of ``key_ids`` that has one, its newest result that said something about the
        key (``NOT_DEFINITE``: not an outage, not a quota), as a one-entry history. What the
        TUI's lists need of the history to show a key whose last check failed so (its last
        definite status stands, stale): reading every key's whole history instead grew with
        every cron check (50 per key kept: 0.5 million rows at 10,000 keys, bench/yardstick.py)."""
        wanted = list(dict.fromkeys(key_ids))
        statuses = sorted(s.value for s in NOT_DEFINITE)
        out: History = {}
        with self._conn() as conn:
            for start in range(0, len(wanted), 500):  # SQLite's host-parameter limit
                chunk = wanted[start : start + 500]
                ids, skipped = ", ".join("?" * len(chunk)), ", ".join("?" * len(statuses))
                query = (
                    "SELECT key_id, checked_at, status, code, http_status, latency_ms "  # noqa: S608  # nosec B608 - placeholders only
                    "FROM history WHERE id IN (SELECT max(id) FROM history "
                    f"WHERE key_id IN ({ids}) AND status NOT IN ({skipped}) GROUP BY key_id)"
                )
                rows = conn.execute(query, (*chunk, *statuses))
                for row in rows:
                    out[row[0]] = [_history_from(row[1:])]
        return out

    def histories(self) -> History:
        """Every key's history (key ids in first-recorded order), oldest entry first."""
        out: History = {}
        with self._conn() as conn:
            for row in conn.execute(
                "SELECT key_id, checked_at, status, code, http_status, latency_ms FROM history "
                "ORDER BY id"
            ):
                out.setdefault(row[0], []).append(_history_from(row[1:]))
        return out


# --------------------------------------------------------------------------- writes


def _next_seq(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {table}").fetchone()  # noqa: S608  # nosec B608
    return int(row[0])


def _check_name(what: str, name: str) -> None:
    if not valid_name(name):
        raise UsageError(
            f"{what} {name!r} is not a valid name "
            "(1-64 letters, digits or . _ @ + -, starting with a letter or digit)"
        )


class RegistryTransaction(_Reads):
    """The writes of one transaction (``RegistryStore.write``); its reads see its own writes."""

    def __init__(self, db: Database, conn: sqlite3.Connection) -> None:
        super().__init__(db)
        self.conn = conn

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        yield self.conn

    # ----------------------------------------------------------------- accounts

    def put_account(self, account: Account) -> None:
        """Insert or update the account's fields and each sub-account it lists.

        Sub-accounts it does not list are kept: removing one is ``delete_subaccount``."""
        _check_name("account", account.name)
        problem = api_url_problem(account.api_url)
        if problem:
            raise UsageError(f"account {account.name}: api_url {problem}")
        self.conn.execute(
            "INSERT INTO accounts (name, seq, api_url, uid, remark) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET "
            "api_url = excluded.api_url, uid = excluded.uid, remark = excluded.remark",
            (
                account.name,
                _next_seq(self.conn, "accounts"),
                account.api_url,
                account.uid,
                account.remark,
            ),
        )
        for sub in account.subaccounts:
            self.put_subaccount(account.name, sub)

    def rename_account(self, old: str, new: str) -> None:
        """Rename; its sub-accounts and keys follow (ON UPDATE CASCADE)."""
        _check_name("account", new)
        self._rename(
            "accounts", "WHERE name = ?", (old,), new, f"account {old!r}", f"account {new!r}"
        )

    def delete_account(self, name: str, *, with_keys: bool = False) -> list[str]:
        """Remove the account and its sub-accounts; its keys (and their history) only with
        ``with_keys`` (else a UsageError while it has any). Returns the removed key ids."""
        if self.account(name) is None:
            raise KeyNotFound(f"no account {name!r}")
        return self._delete_node(
            "DELETE FROM accounts WHERE name = ?", (name,), name, None, with_keys
        )

    def put_subaccount(self, account: str, sub: SubAccount) -> None:
        _check_name("sub-account", sub.name)
        try:
            self.conn.execute(
                "INSERT INTO subaccounts (account, name, seq, uid, remote, remark) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, name) DO UPDATE SET "
                "uid = excluded.uid, remote = excluded.remote, remark = excluded.remark",
                (
                    account,
                    sub.name,
                    _next_seq(self.conn, "subaccounts"),
                    sub.uid,
                    sub.remote.value,
                    sub.remark,
                ),
            )
        except sqlite3.IntegrityError:
            raise KeyNotFound(f"no account {account!r}") from None

    def rename_subaccount(self, account: str, old: str, new: str) -> None:
        """Rename; its keys follow (ON UPDATE CASCADE)."""
        _check_name("sub-account", new)
        self._rename(
            "subaccounts",
            "WHERE account = ? AND name = ?",
            (account, old),
            new,
            f"sub-account {account}/{old}",
            f"sub-account {account}/{new}",
        )

    def delete_subaccount(self, account: str, name: str, *, with_keys: bool = False) -> list[str]:
        acc = self.account(account)
        if acc is None or acc.sub(name) is None:
            raise KeyNotFound(f"no sub-account {account}/{name}")
        return self._delete_node(
            "DELETE FROM subaccounts WHERE account = ? AND name = ?",
            (account, name),
            account,
            name,
            with_keys,
        )

    def _rename(
        self, table: str, where: str, args: tuple[str, ...], new: str, old_what: str, new_what: str
    ) -> None:
        try:
            cursor = self.conn.execute(
                f"UPDATE {table} SET name = ? {where}",  # noqa: S608  # nosec B608
                (new, *args),
            )
        except sqlite3.IntegrityError:
            raise UsageError(f"{new_what} already exists") from None
        if cursor.rowcount == 0:
            raise KeyNotFound(f"no {old_what}")

    def _delete_node(
        self, sql: str, args: tuple[str, ...], account: str, sub: str | None, with_keys: bool
    ) -> list[str]:
        ids = [k.id for k in self.keys_under(account, sub)]
        if ids and not with_keys:
            label = f"{account}/{sub}" if sub else account
            raise UsageError(f"{label} still has {len(ids)} key(s)")
        for key_id in ids:
            self.delete_key(key_id)
        self.conn.execute(sql, args)
        return ids

    # ----------------------------------------------------------------- keys

    def put_key(self, key: ApiKey) -> None:
        """Insert the key, or update every field of the key with this id (its place is kept)."""
        row = _key_row(key)
        try:
            self.conn.execute(
                f"INSERT INTO keys (seq, {_KEY_COLUMNS}) VALUES (?, {', '.join('?' * len(row))}) "  # noqa: S608  # nosec B608
                "ON CONFLICT (id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _KEY_COLUMNS.split(", ")[1:]),
                (_next_seq(self.conn, "keys"), *row),
            )
        except sqlite3.IntegrityError as exc:
            raise self._key_problem(key, exc) from None

    def _key_problem(self, key: ApiKey, exc: sqlite3.IntegrityError) -> KutuiError:
        text = str(exc)
        if "UNIQUE" in text:
            return UsageError(f"key {key.ref} already exists")
        if "FOREIGN KEY" in text:
            what = "sub-account" if key.ref.sub else "account"
            return KeyNotFound(f"key {key.ref}: no {what} {key.ref.owner!r}")
        return RegistryError(self.db.path, f"key {key.ref}: {text}")

    def delete_key(self, key_id: str) -> bool:
        """Remove the key and its history; False when no key has this id."""
        self.conn.execute("DELETE FROM history WHERE key_id = ?", (key_id,))
        self.conn.execute("DELETE FROM consumers WHERE key_id = ?", (key_id,))
        return self.conn.execute("DELETE FROM keys WHERE id = ?", (key_id,)).rowcount > 0

    def set_note(self, key_id: str, note: PermissionNote) -> None:
        held = self.key_by_id(key_id)
        if held is not None:
            self._sync_note_consumers(key_id, held.note.consumers, note.consumers)
        cursor = self.conn.execute(
            "UPDATE keys SET note_text = ?, note_expected = ?, note_consumers = ? WHERE id = ?",
            (note.text, _texts(note.expected_permissions), _texts(note.consumers), key_id),
        )
        if cursor.rowcount == 0:
            raise KeyNotFound(f"no key with id {key_id!r}")

    # ----------------------------------------------------------------- consumers

    def put_consumer(self, consumer: Consumer, *, check_key: bool = True) -> None:
        """Add the consumer, or change the one of that key with that name (its place is kept;
        its last delivery too, unless ``consumer`` carries one). ``check_key=False``: the key
        lives elsewhere (an OpenBao home; the caller checked it)."""
        problem = consumer_problem(consumer)
        if problem:
            raise UsageError(problem)
        if check_key and self.key_by_id(consumer.key_id) is None:
            raise KeyNotFound(f"no key with id {consumer.key_id!r}")
        self.conn.execute(
            "INSERT INTO consumers (key_id, name, seq, kind, target, username, reload, env_prefix)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id, name) DO UPDATE SET "
            "kind = excluded.kind, target = excluded.target, username = excluded.username, "
            "reload = excluded.reload, env_prefix = excluded.env_prefix",
            (
                consumer.key_id,
                consumer.name,
                _next_seq(self.conn, "consumers"),
                consumer.kind.value,
                consumer.target,
                consumer.user,
                consumer.reload,
                consumer.env_prefix,
            ),
        )
        if consumer.last_delivery is not None:
            self.record_delivery(consumer.key_id, consumer.name, consumer.last_delivery)

    def delete_consumer(self, key_id: str, name: str) -> bool:
        cursor = self.conn.execute(
            "DELETE FROM consumers WHERE key_id = ? AND name = ?", (key_id, name)
        )
        return cursor.rowcount > 0

    def record_delivery(self, key_id: str, name: str, delivery: Delivery) -> bool:
        """Remember the consumer's last delivery; False when it is gone."""
        cursor = self.conn.execute(
            "UPDATE consumers SET delivered_at = ?, delivered_fingerprint = ?, "
            "delivery_status = ?, delivery_detail = ? WHERE key_id = ? AND name = ?",
            (
                delivery.at.isoformat(),
                delivery.fingerprint,
                delivery.status.value,
                delivery.detail,
                key_id,
                name,
            ),
        )
        return cursor.rowcount > 0

    def _sync_note_consumers(
        self, key_id: str, before: Sequence[str], after: Sequence[str]
    ) -> None:
        """The note's names and the key's manual consumers stay in step: a name taken out of
        the note (the TUI's note editor) removes its manual consumer, a name added adds one."""
        if tuple(before) == tuple(after):
            return
        for name in set(before) - set(after):
            self.conn.execute(
                "DELETE FROM consumers WHERE key_id = ? AND name = ? AND kind = 'manual'",
                (key_id, name),
            )
        held = {c.name for c in self.consumers(key_id)}
        for name in dict.fromkeys(after):
            consumer = Consumer(key_id, name, ConsumerKind.MANUAL)
            if name not in held and consumer_problem(consumer) is None:
                self.put_consumer(consumer)
                held.add(name)

    def adopt_note_consumers(self) -> None:
        """Every note's free-text consumers become manual consumers (kept ones stay as they are;
        a name the consumer rule refuses stays in the note only)."""
        held = {(c.key_id, c.name) for c in self.consumers()}
        for key in self._keys(self.conn, "WHERE note_consumers <> '[]'"):
            for name in dict.fromkeys(key.note.consumers):
                consumer = Consumer(key.id, name, ConsumerKind.MANUAL)
                if (key.id, name) not in held and consumer_problem(consumer) is None:
                    self.put_consumer(consumer)
                    held.add((key.id, name))

    # ----------------------------------------------------------------- check results

    def record_results(
        self, results: Iterable[tuple[str, CheckResult]], *, limit: int = MAX_ENTRIES
    ) -> int:
        """Record a batch: each key's last check and what the check taught (``apply_result``),
        plus history (the last ``limit`` per key). Returns how many results were recorded;
        results for keys that are gone, or unchecked ones, are skipped."""
        batch = [(key_id, r) for key_id, r in results if r.status is not Status.UNCHECKED]
        wanted = sorted({key_id for key_id, _ in batch})
        keys: list[ApiKey] = []
        for start in range(0, len(wanted), 500):  # SQLite's host-parameter limit
            chunk = wanted[start : start + 500]
            keys += self._keys(self.conn, f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        if not keys:
            return 0
        known = {k.id for k in keys}
        batch = [(key_id, r) for key_id, r in batch if key_id in known]
        names = sorted({k.ref.account for k in keys})
        accounts: list[Account] = []
        for start in range(0, len(names), 500):
            accounts += self._accounts(self.conn, names=names[start : start + 500])
        registry = Registry(accounts=accounts, keys=keys)
        recorded = apply_results(registry, batch)
        self._save_learned(registry)
        self.conn.executemany(
            "INSERT INTO history (key_id, checked_at, status, code, http_status, latency_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    key_id,
                    r.checked_at.isoformat(),
                    r.status.value,
                    r.code,
                    r.http_status,
                    r.latency_ms,
                )
                for key_id, r in batch
            ],
        )
        self._prune(known, limit)
        return recorded

    def _save_learned(self, registry: Registry) -> None:
        """Write back the fields ``apply_result`` may change: the keys' and their owners'."""
        self.conn.executemany(
            "UPDATE keys SET last_check = ?, remote = ?, permissions_seen = ?, "
            "ip_whitelist_seen = ?, api_version = ?, created_at = ?, remark = ? WHERE id = ?",
            [
                (
                    check_to_json(k.last_check) if k.last_check is not None else None,
                    k.remote.value,
                    _texts(k.permissions_seen),
                    k.ip_whitelist_seen,
                    k.api_version,
                    _when(k.created_at),
                    k.remark,
                    k.id,
                )
                for k in registry.keys
            ],
        )
        touched = {(k.ref.account, k.ref.sub) for k in registry.keys}
        self.conn.executemany(
            "UPDATE accounts SET uid = ? WHERE name = ?",
            [(a.uid, a.name) for a in registry.accounts if (a.name, "") in touched],
        )
        self.conn.executemany(
            "UPDATE subaccounts SET uid = ?, remote = ? WHERE account = ? AND name = ?",
            [
                (s.uid, s.remote.value, a.name, s.name)
                for a in registry.accounts
                for s in a.subaccounts
                if (a.name, s.name) in touched
            ],
        )

    def _prune(self, key_ids: Iterable[str], limit: int) -> None:
        self.conn.executemany(
            "DELETE FROM history WHERE key_id = ? AND id <= coalesce(("
            "SELECT id FROM history WHERE key_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?), -1)",
            [(key_id, key_id, limit) for key_id in key_ids],
        )

    def add_history(
        self, key_id: str, entries: Iterable[HistoryEntry], *, limit: int = MAX_ENTRIES
    ) -> None:
        """Append entries made elsewhere (a migration), keeping the last ``limit``."""
        self.conn.executemany(
            "INSERT INTO history (key_id, checked_at, status, code, http_status, latency_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    key_id,
                    e.checked_at.isoformat(),
                    e.status.value,
                    e.code,
                    e.http_status,
                    e.latency_ms,
                )
                for e in entries
            ],
        )
        self._prune([key_id], limit)

    def set_meta(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # ----------------------------------------------------------------- whole registry

    def replace_registry(self, registry: Registry) -> None:
        """Make the registry exactly ``registry`` (import, migration); history of keys that
        remain is kept, that of removed keys dropped."""
        keep = {k.id for k in registry.keys}
        gone = [row[0] for row in self.conn.execute("SELECT id FROM keys") if row[0] not in keep]
        for key_id in gone:
            self.delete_key(key_id)
        # Renumber from scratch so the order is the given one; keys go first (their foreign keys
        # point at sub-accounts about to be replaced), then come back after the owners.
        self.conn.execute("DELETE FROM keys")
        self.conn.execute("DELETE FROM subaccounts")
        self.conn.execute("DELETE FROM accounts")
        for account in registry.accounts:
            self.put_account(account)
        for key in registry.keys:
            self.put_key(key)
        self.adopt_note_consumers()

    def update(self, fn: Callable[[Registry], T]) -> T:
        """Apply ``fn`` to the registry as this transaction sees it, then write only what it
        changed (rows compared before and after, deletions included): one change to a registry
        of 10,000 keys writes one row, not 10,000. Returns ``fn``'s result."""
        with no_gc_pauses():
            rows = {
                row[0]: tuple(row)
                for row in self.conn.execute(
                    f"SELECT {_KEY_COLUMNS} FROM keys ORDER BY seq"  # noqa: S608  # nosec B608
                )
            }
            accounts = self._accounts(self.conn)
            before = copy.deepcopy(accounts)  # a handful: the keys are compared as rows instead
            registry = Registry(accounts=accounts, keys=[_key_from(row) for row in rows.values()])
        result = fn(registry)
        self._write_changes(before, rows, registry)
        return result

    def _write_changes(
        self, before: list[Account], rows: dict[str, tuple[object, ...]], after: Registry
    ) -> None:
        # Keys leave first and arrive after their owners; owners leave last (foreign keys).
        kept = {k.id for k in after.keys}
        for key_id in rows.keys() - kept:
            self.delete_key(key_id)
        old = {a.name: a for a in before}
        for account in after.accounts:
            if old.get(account.name) != account:
                self.put_account(account)
        for key in after.keys:
            row = _key_row(key)
            old_row = rows.get(key.id)
            if old_row != row:
                self.put_key(key)
                if old_row is None or old_row[16] != row[16]:  # note_consumers
                    noted = _parse_texts(str(old_row[16])) if old_row is not None else ()
                    self._sync_note_consumers(key.id, noted, key.note.consumers)
        new = {a.name: a for a in after.accounts}
        for account in before:
            if account.name not in new:
                self.delete_account(account.name)
                continue
            names = {s.name for s in new[account.name].subaccounts}
            for sub in account.subaccounts:
                if sub.name not in names:
                    self.delete_subaccount(account.name, sub.name)
        self._keep_order(before, list(rows), after)

    def _keep_order(self, before: list[Account], key_ids: list[str], after: Registry) -> None:
        """Renumber ``seq`` only when ``fn`` reordered (new rows already come last)."""
        if _reordered(key_ids, [k.id for k in after.keys]):
            self.conn.executemany(
                "UPDATE keys SET seq = ? WHERE id = ?",
                [(i, k.id) for i, k in enumerate(after.keys, 1)],
            )
        names = [a.name for a in after.accounts]
        if _reordered([a.name for a in before], names):
            self.conn.executemany(
                "UPDATE accounts SET seq = ? WHERE name = ?",
                [(i, name) for i, name in enumerate(names, 1)],
            )
        subs = [(a.name, s.name) for a in after.accounts for s in a.subaccounts]
        if _reordered([(a.name, s.name) for a in before for s in a.subaccounts], subs):
            self.conn.executemany(
                "UPDATE subaccounts SET seq = ? WHERE account = ? AND name = ?",
                [(i, acc, sub) for i, (acc, sub) in enumerate(subs, 1)],
            )


def _reordered(old: Sequence[object], new: Sequence[object]) -> bool:
    """Whether ``new`` is not ``old``'s survivors in their order followed by the newcomers."""
    known, kept = set(old), set(new)
    return list(new) != [x for x in old if x in kept] + [x for x in new if x not in known]


class RegistryStore(_Reads):
    """The registry in kutui.db: consistent reads and one-transaction writes."""

    @classmethod
    def open(
        cls, data_dir: Path, *, timeout: float = DEFAULT_TIMEOUT, check_same_thread: bool = True
    ) -> RegistryStore:
        """kutui.db in ``data_dir`` (created and migrated as needed)."""
        return cls.open_file(
            db_path(data_dir), timeout=timeout, check_same_thread=check_same_thread
        )

    @classmethod
    def open_file(
        cls, path: Path, *, timeout: float = DEFAULT_TIMEOUT, check_same_thread: bool = True
    ) -> RegistryStore:
        return cls(Database.open(path, timeout=timeout, check_same_thread=check_same_thread))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RegistryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[RegistryTransaction]:
        """One transaction (``BEGIN IMMEDIATE``): committed when the block ends, rolled back
        if it raises."""
        with self.db.transaction() as conn:
            yield RegistryTransaction(self.db, conn)
