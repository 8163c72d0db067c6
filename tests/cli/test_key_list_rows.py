"""``kutui key list --json`` writes its records straight from kutui.db's rows (no ``ApiKey``
objects, bench/yardstick.py); ``--owner`` still goes through ``ApiKey``. Both print exactly what
the listing printed when every record was built from an ``ApiKey``."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from kutui.cli import main
from kutui.commands.common import print_json
from kutui.model import ApiKey, Registry
from kutui.store.home import Home
from tests.store.test_registry import registries


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_key_list_json_prints_what_the_key_objects_printed(registry: Registry) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        root.mkdir(mode=0o700)
        home = Home.load(root)

        def replace(reg: Registry) -> None:
            reg.accounts, reg.keys = registry.accounts, registry.keys

        home.update_registry(replace)
        stored = home.registry()
        assert run("--home", str(root), "key", "list", "--json") == listing(stored.keys)
        for account in stored.accounts:
            owned = stored.keys_under(account.name)
            if owned:
                printed = run("--home", str(root), "key", "list", "--json", account.name)
                assert printed == listing(owned)
