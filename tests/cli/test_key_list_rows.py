"""``kutui key list --json`` writes its document straight from kutui.db's rows, one SQL read and
one %-template per record (``key_list_json`` in kutui/store/sqlite_registry.py; no ``ApiKey``
objects, no generic encoder: bench/yardstick.py), with or without an ACCOUNT[/SUB] filter; on
OpenBao the rows are made from the registry (``key_row``). Every path prints byte for byte what
the listing printed when each record was a dict built from an ``ApiKey`` and encoded by
``print_json`` (kutui/commands/jsondump.py, itself held to ``json.dumps`` in
tests/cli/test_jsondump.py): that encoder is the oracle here."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.cli import main
from kutui.commands.common import print_json, print_json_text
from kutui.model import Account, ApiKey, CheckResult, KeyRef, Registry, Status
from kutui.store.home import Home
from kutui.store.sqlite_registry import key_list_json, key_row
from tests.store.test_registry import registries, texts


def record_from_key(key: ApiKey) -> dict[str, Any]:
    """The record as the listing built it from an ``ApiKey`` before it read rows."""
    check = key.last_check
    return {
        "ref": str(key.ref),
        "account": key.ref.account,
        "sub": key.ref.sub,
        "label": key.ref.label,
        "id": key.id,
        "fingerprint": key.fingerprint,
        "api_version": key.api_version,
        "status": key.status.value,
        "has_secret": key.has_secret,
        "added_at": key.added_at,
        "created_at": key.created_at,
        "expire_days": key.expire_days,
        "remote": key.remote.value,
        "permissions_seen": list(key.permissions_seen),
        "ip_whitelist_seen": key.ip_whitelist_seen,
        "last_checked_at": check.checked_at if check else None,
        "note": key.note.text,
        "expected_permissions": list(key.note.expected_permissions),
        "consumers": list(key.note.consumers),
    }


def listing(keys: list[ApiKey]) -> str:
    out = io.StringIO()
    records = [record_from_key(k) for k in sorted(keys, key=lambda k: k.ref)]
    print_json({"schema": 1, "keys": records}, file=out)
    return out.getvalue()


def run(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


@st.composite
def listed_registries(draw: st.DrawFn) -> Registry:
    """``registries()`` with outside text in every free-text field a record shows (notes and
    consumers already are: control characters, DEL, C1, quotes, backslashes, any plane)."""
    registry = draw(registries())
    registry.keys = [
        dataclasses.replace(k, ip_whitelist_seen=draw(texts), remark=draw(texts))
        for k in registry.keys
    ]
    return registry


def stored(registry: Registry, root: Path) -> Registry:
    root.mkdir(mode=0o700)
    home = Home.load(root)

    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = registry.accounts, registry.keys

    home.update_registry(replace)
    return home.registry()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listed_registries())
def test_key_list_json_prints_what_the_key_objects_printed(registry: Registry) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        keys = stored(registry, root).keys
        assert run("--home", str(root), "key", "list", "--json") == listing(keys)
        for account in registry.accounts:
            owned = [k for k in keys if k.ref.account == account.name]
            if owned:
                printed = run("--home", str(root), "key", "list", "--json", account.name)
                assert printed == listing(owned)
            for sub in account.subaccounts:
                node = f"{account.name}/{sub.name}"
                printed = run("--home", str(root), "key", "list", "--json", node)
                assert printed == listing([k for k in owned if k.ref.sub == sub.name])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listed_registries())
def test_rows_made_from_key_objects_print_the_same(registry: Registry) -> None:
    """The OpenBao path: no kutui.db, rows from ``key_row``."""
    out = io.StringIO()
    rows = [key_row(k) for k in sorted(registry.keys, key=lambda k: k.ref)]
    print_json_text(key_list_json(rows, 1), file=out)
    assert out.getvalue() == listing(registry.keys)


def test_a_check_saved_in_another_layout_still_lists_its_status_and_time(tmp_path: Path) -> None:
    """The listing cuts status and time out of ``check_to_json``'s compact array; a result
    saved any other way (spaces after commas, escapes) is decoded instead."""
    checked = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    key = ApiKey("id0", KeyRef("main", "", "bot"), last_check=CheckResult(Status.OK, checked))
    registry = Registry(accounts=[Account("main")], keys=[key])
    root = tmp_path / "home"
    stored(registry, root)
    expected = run("--home", str(root), "key", "list", "--json")
    assert json.loads(expected)["keys"][0]["last_checked_at"] == checked.isoformat()
    with sqlite3.connect(root / "kutui.db") as conn:
        (text,) = conn.execute("SELECT last_check FROM keys").fetchone()
        spaced = json.dumps(json.loads(text), ensure_ascii=True).replace("o", "\\u006f", 1)
        conn.execute("UPDATE keys SET last_check = ?", (spaced,))
    assert spaced.startswith('["\\u006fk", ')
    assert run("--home", str(root), "key", "list", "--json") == expected
