"""accounts.toml ⇄ ``kutui.model.Registry``.

Read with tomllib and validated strictly (a ``RegistryError`` names the file and the key path, e.g.
``keys[3].created_at``); written with tomli-w. Datetimes are TOML offset date-times; ``None`` is
never written (the key is left out). ``schema_version`` lets a newer kutui migrate, and an older
one refuse, a file it does not understand. Nothing here is secret: fingerprints only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kutui.errors import RegistryError
from kutui.model import (
    DEFAULT_API_URL,
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    Status,
    SubAccount,
    api_url_problem,
    valid_name,
)
from kutui.store.tomlfields import Table, drop_none, parse_toml

SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- reading


def _enum(table: Table, key: str, kind: type[Status] | type[RemoteState], default: str) -> Any:
    value = table.text(key, default)
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in kind)
        table.fail(key, f"must be one of {choices}")


def _name(table: Table, key: str) -> str:
    value = table.text(key)
    if not valid_name(value):
        table.fail(
            key, "must be 1-64 letters, digits or . _ @ + -, starting with a letter or digit"
        )
    return value


def _subaccount(t: Table) -> SubAccount:
    sub = SubAccount(
        name=_name(t, "name"),
        uid=t.opt_integer("uid"),
        remote=_enum(t, "remote", RemoteState, RemoteState.UNKNOWN.value),
        remark=t.text("remark", ""),
    )
    t.finish()
    return sub


def _account(t: Table) -> Account:
    account = Account(
        name=_name(t, "name"),
        api_url=t.text("api_url", DEFAULT_API_URL),
        uid=t.opt_integer("uid"),
        remark=t.text("remark", ""),
        subaccounts=[_subaccount(s) for s in t.tables("subaccounts")],
    )
    problem = api_url_problem(account.api_url)
    if problem:
        t.fail("api_url", problem)
    seen: set[str] = set()
    for index, sub in enumerate(account.subaccounts):
        if sub.name in seen:
            t.fail(f"subaccounts[{index}].name", f"duplicate sub-account {sub.name!r}")
        seen.add(sub.name)
    t.finish()
    return account


def _note(t: Table | None) -> PermissionNote:
    if t is None:
        return PermissionNote()
    note = PermissionNote(
        text=t.text("text", ""),
        expected_permissions=t.texts("expected_permissions"),
        consumers=t.texts("consumers"),
    )
    t.finish()
    return note


def _check(t: Table | None) -> CheckResult | None:
    if t is None:
        return None
    result = CheckResult(
        status=_enum(t, "status", Status, ""),
        checked_at=t.when("checked_at"),
        code=t.text("code", ""),
        http_status=t.integer("http_status", 0),
        message=t.text("message", ""),
        latency_ms=t.number("latency_ms", 0.0),
        permissions=t.texts("permissions"),
        ip_whitelist=t.text("ip_whitelist", ""),
        api_version=t.opt_integer("api_version"),
        uid=t.opt_integer("uid"),
        is_master=t.opt_flag("is_master"),
        sub_name=t.text("sub_name", ""),
        remark=t.text("remark", ""),
        created_at=t.opt_datetime("created_at"),
        clock_offset_ms=t.opt_integer("clock_offset_ms"),
        rate_limit_reset_ms=t.opt_integer("rate_limit_reset_ms"),
    )
    t.finish()
    return result


def _key(t: Table) -> ApiKey:
    ref_text = t.text("ref")
    try:
        ref = KeyRef.parse(ref_text)
    except ValueError as exc:
        t.fail("ref", str(exc))
    key = ApiKey(
        id=t.text("id"),
        ref=ref,
        fingerprint=t.text("fingerprint", ""),
        api_version=t.integer("api_version", 3),
        created_at=t.opt_datetime("created_at"),
        added_at=t.opt_datetime("added_at"),
        expire_days=t.integer("expire_days", -1),
        permissions_seen=t.texts("permissions_seen"),
        ip_whitelist_seen=t.text("ip_whitelist_seen", ""),
        remark=t.text("remark", ""),
        remote=_enum(t, "remote", RemoteState, RemoteState.UNKNOWN.value),
        has_secret=t.flag("has_secret", False),
        note=_note(t.table("note")),
        last_check=_check(t.table("last_check")),
    )
    if not key.id:
        t.fail("id", "must not be empty")
    if len(key.fingerprint) > 4:
        t.fail("fingerprint", "must be at most 4 characters (the end of the API key)")
    if key.api_version not in (1, 2, 3):
        t.fail("api_version", "must be 1, 2 or 3")
    t.finish()
    return key


def parse_registry(path: Path, data: bytes) -> Registry:
    doc = Table(parse_toml(path, data, RegistryError), path=path, where="", error=RegistryError)
    version = doc.integer("schema_version")
    if version > SCHEMA_VERSION:
        doc.fail("schema_version", f"is {version}: this file was written by a newer kutui")
    if version < 1:
        doc.fail("schema_version", "must be 1")
    registry = Registry(
        accounts=[_account(a) for a in doc.tables("accounts")],
        keys=[_key(k) for k in doc.tables("keys")],
    )
    doc.finish()
    _check_consistency(path, registry)
    return registry


def _check_consistency(path: Path, registry: Registry) -> None:
    owners: set[tuple[str, str]] = set()
    for index, account in enumerate(registry.accounts):
        if (account.name, "") in owners:
            raise RegistryError(
                path, f"duplicate account {account.name!r}", key=f"accounts[{index}].name"
            )
        owners.add((account.name, ""))
        owners.update((account.name, sub.name) for sub in account.subaccounts)
    ids: set[str] = set()
    refs: set[KeyRef] = set()
    for index, key in enumerate(registry.keys):
        if key.id in ids:
            raise RegistryError(path, f"duplicate key id {key.id!r}", key=f"keys[{index}].id")
        if key.ref in refs:
            raise RegistryError(path, f"duplicate key {key.ref}", key=f"keys[{index}].ref")
        ids.add(key.id)
        refs.add(key.ref)
        owner = registry.account(key.ref.account)
        if owner is None:
            raise RegistryError(
                path,
                f"names account {key.ref.account!r}, which is not listed",
                key=f"keys[{index}].ref",
            )
        if key.ref.sub and owner.sub(key.ref.sub) is None:
            raise RegistryError(
                path,
                f"names sub-account {key.ref.owner!r}, which is not listed",
                key=f"keys[{index}].ref",
            )


def read_registry(path: Path) -> Registry:
    """The registry in ``path``; an absent file is an empty registry."""
    from kutui.store.files import read_private

    try:
        data = read_private(path)
    except FileNotFoundError:
        return Registry()
    except OSError as exc:  # EACCES, EISDIR, EIO: the user's to fix, not a kutui bug
        raise RegistryError(path, f"cannot be read ({exc.strerror or exc})") from None
    return parse_registry(path, data)


# --------------------------------------------------------------------------- writing


def _check_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "checked_at": result.checked_at,
        "code": result.code,
        "http_status": result.http_status,
        "message": result.message,
        "latency_ms": float(result.latency_ms),
        "permissions": list(result.permissions),
        "ip_whitelist": result.ip_whitelist,
        "api_version": result.api_version,
        "uid": result.uid,
        "is_master": result.is_master,
        "sub_name": result.sub_name,
        "remark": result.remark,
        "created_at": result.created_at,
        "clock_offset_ms": result.clock_offset_ms,
        "rate_limit_reset_ms": result.rate_limit_reset_ms,
    }


def _key_dict(key: ApiKey) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": key.id,
        "ref": str(key.ref),
        "fingerprint": key.fingerprint,
        "api_version": key.api_version,
        "created_at": key.created_at,
        "added_at": key.added_at,
        "expire_days": key.expire_days,
        "permissions_seen": list(key.permissions_seen),
        "ip_whitelist_seen": key.ip_whitelist_seen,
        "remark": key.remark,
        "remote": key.remote.value,
        "has_secret": key.has_secret,
    }
    if not key.note.empty:
        out["note"] = {
            "text": key.note.text,
            "expected_permissions": list(key.note.expected_permissions),
            "consumers": list(key.note.consumers),
        }
    if key.last_check is not None:
        out["last_check"] = _check_dict(key.last_check)
    return out


def _account_dict(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "api_url": account.api_url,
        "uid": account.uid,
        "remark": account.remark,
        "subaccounts": [
            _compact({"name": s.name, "uid": s.uid, "remote": s.remote.value, "remark": s.remark})
            for s in account.subaccounts
        ],
    }


#: Values the reader fills in when a key is absent; left out on write to keep the file small
#: (tomllib parsing dominates load time for big registries).
_DEFAULTS: dict[str, object] = {
    "remark": "",
    "message": "",
    "code": "",
    "http_status": 0,
    "latency_ms": 0.0,
    "ip_whitelist": "",
    "ip_whitelist_seen": "",
    "sub_name": "",
    "permissions": [],
    "permissions_seen": [],
    "expected_permissions": [],
    "consumers": [],
    "subaccounts": [],
    "text": "",
    "remote": RemoteState.UNKNOWN.value,
    "expire_days": -1,
}


def _compact(table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if value is None or (
            key in _DEFAULTS and value == _DEFAULTS[key] and type(value) is type(_DEFAULTS[key])
        ):
            continue
        out[key] = _compact(value) if isinstance(value, dict) else value
    return out


def dump_registry(registry: Registry) -> bytes:
    import tomli_w

    doc = {
        "schema_version": SCHEMA_VERSION,
        "accounts": [_compact(_account_dict(a)) for a in registry.accounts],
        "keys": [_compact(_key_dict(k)) for k in registry.keys],
    }
    return tomli_w.dumps(drop_none(doc)).encode("utf-8")


def write_registry(path: Path, registry: Registry) -> None:
    """Write atomically; the caller holds ``locked(path)``."""
    from kutui.store.files import atomic_write

    _check_consistency(path, registry)  # a dangling reference is a bug: never write it
    atomic_write(path, dump_registry(registry))
