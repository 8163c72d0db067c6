"""A rotation on OpenBao against ``kutui simulate`` (Done when 2 of the OpenBao issue): the new
key waits outside the key's path until verified, the promote makes it the current KV version
with the old key in the previous one, and a second home cannot touch the rotation while the
first holds its lease, then resumes it once the lease has expired."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kutui.model import (
    Account,
    ApiKey,
    Credential,
    KeyRef,
    PermissionNote,
    Registry,
    Slot,
    SubAccount,
)
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import VaultData
from tests.openbao.conftest import BaoHome, MakeHome
from tests.rotation.test_cli import MASTER, OLD, answer, sub_key_ids

LEASE_SECONDS = 10
REF = "main/bot1sub/grid"


def seed(home: BaoHome, url: str) -> None:
    def add(registry: Registry) -> None:
        registry.accounts.append(
            Account("main", api_url=url, uid=1001, subaccounts=[SubAccount("bot1sub", 2001)])
        )
        registry.keys.append(
            ApiKey("k-master", KeyRef("main", "", "admin"), fingerprint=MASTER[0][-4:])
        )
        registry.keys.append(
            ApiKey(
                "k-bot",
                KeyRef("main", "bot1sub", "grid"),
                fingerprint=OLD[0][-4:],
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                ip_whitelist_seen="127.0.0.1",
                note=PermissionNote("grid bot", ("General", "Spot"), ("grid-bot",)),
            )
        )

    loaded = Home.load(home.root)
    loaded.update_registry(add)

    def fill(data: VaultData) -> set[str]:
        for key_id, (k, s, p) in (("k-master", MASTER), ("k-bot", OLD)):
            data.put(key_id, Credential(Secret(k), Secret(s), Secret(p)), Slot.CURRENT)
        return {"k-master", "k-bot"}

    loaded.add_credentials(loaded.open_vault(), {"k-master", "k-bot"}, lambda r: [], fill)


def kv(home: BaoHome, path: str, *extra: str) -> dict[str, Any] | None:
    got = home.server.bao("kv", "get", "-format=json", *extra, f"secret/{home.prefix}/{path}")
    if got.returncode != 0:
        return None
    document: dict[str, Any] = json.loads(got.stdout)["data"]
    return document


def crash_rotation(home: BaoHome, point: str) -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.rotation.crash_child",
            str(home.root),
            "/nonexistent",
            REF,
            point,
        ],
        capture_output=True,
        text=True,
        env=home.env(),
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 77, child.stdout + child.stderr


@pytest.mark.slow
def test_rotation_leases_the_key_and_leaves_the_old_key_in_the_previous_version(
    make_home: MakeHome, simulator: str
) -> None:
    alice = make_home("alice", extra=f"lease_seconds = {LEASE_SECONDS}\n")
    bob = make_home("bob")
    seed(alice, simulator)
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))

    crash_rotation(alice, "verify-new:running")  # the new key exists, not yet verified
    crashed_at = time.monotonic()
    current = kv(alice, REF)
    assert current is not None
    assert current["data"]["api_key"] == OLD[0]
    assert current["metadata"]["version"] == 1
    pending = kv(alice, "_kutui/pending/k-bot")
    assert pending is not None and pending["data"]["api_key"] != OLD[0]

    # Bob sees the rotation (the checklist is shared) but may not start nor resume it.
    listed = bob.kutui("rotate", "--list")
    assert listed.returncode == 0 and REF in listed.stdout, listed.stderr
    for argv in (("rotate", REF), ("rotate", REF, "--resume", "--yes")):
        refused = bob.kutui(*argv)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "is being rotated by" in refused.stderr and "lease until" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1

    time.sleep(max(0.0, LEASE_SECONDS + 1 - (time.monotonic() - crashed_at)))
    # --yes never ticks a manual consumer (the note's grid-bot): a person names it.
    done = bob.kutui("rotate", REF, "--resume", "--yes", "--switched", "grid-bot")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "finished" in done.stdout

    current = kv(bob, REF)
    assert current is not None
    data, version = current["data"], current["metadata"]["version"]
    new = Credential(
        Secret(data["api_key"]), Secret(data["api_secret"]), Secret(data["passphrase"])
    )
    assert new.api_key != old.api_key
    assert asyncio.run(answer(simulator, new)) == "200000"
    previous = kv(bob, REF, f"-version={int(version) - 1}")
    assert previous is not None
    assert previous["data"]["api_key"] == OLD[0]
    assert asyncio.run(answer(simulator, old)) == "400003"  # the old key is gone on KuCoin
    assert asyncio.run(sub_key_ids(simulator)) == [new.api_key.reveal()]
    assert kv(bob, "_kutui/pending/k-bot") is None
    # Both homes read the new key as CURRENT, nothing pending.
    for home in (alice, bob):
        slots = Home.load(home.root).open_vault().data.slots("k-bot")
        assert set(slots) == {Slot.CURRENT}
        assert slots[Slot.CURRENT].api_secret == new.api_secret
    assert bob.kutui("rotate", "--list").stdout.strip() == "no open rotations"


@pytest.mark.slow
def test_abort_after_the_promote_puts_the_old_key_back(make_home: MakeHome, simulator: str) -> None:
    alice = make_home("alice", extra=f"lease_seconds = {LEASE_SECONDS}\n")
    bob = make_home("bob")
    seed(alice, simulator)
    crash_rotation(alice, "revoke-old:running")  # promoted: the new key is CURRENT
    crashed_at = time.monotonic()
    promoted = kv(alice, REF)
    assert promoted is not None and promoted["data"]["api_key"] != OLD[0]
    assert promoted["metadata"]["version"] == 2
    time.sleep(max(0.0, LEASE_SECONDS + 1 - (time.monotonic() - crashed_at)))
    aborted = bob.kutui("rotate", REF, "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    current = kv(bob, REF)
    assert current is not None and current["data"]["api_key"] == OLD[0]
    assert current["metadata"]["version"] == 3  # history: old, new, old again
    assert asyncio.run(answer(simulator, old)) == "200000"
    slots = Home.load(alice.root).open_vault().data.slots("k-bot")
    assert set(slots) == {Slot.CURRENT} and slots[Slot.CURRENT].api_key == old.api_key
    assert kv(bob, "_kutui/pending/k-bot") is None
