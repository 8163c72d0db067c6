"""``kutui rotate`` as a user runs it: a subprocess against ``kutui simulate`` on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kutui.errors import KucoinError
from kutui.kucoin.client import KucoinClient
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
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault, VaultData
from tests.simulate_process import simulate

VAULT_PW = "vault-pw-for-rotation-tests"
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)
MASTER = ("6705f5c311545b000157d3eb", "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3", "MasterPass-1")
OLD = ("6705f5c311545b000157aaaa", "a1b2c3d4-5c39-4aaa-9b20-dea10bdcf8e3", "OldPassphrase-7")
STATE = f"""
[[users]]
uid = 1001

[[users]]
uid = 2001
sub_name = "bot1sub"
master_uid = 1001

[[keys]]
uid = 1001
api_key = "{MASTER[0]}"
api_secret = "{MASTER[1]}"
passphrase = "{MASTER[2]}"
permission = "General"

[[keys]]
uid = 2001
api_key = "{OLD[0]}"
api_secret = "{OLD[1]}"
passphrase = "{OLD[2]}"
permission = "General,Spot"
ip_whitelist = ["127.0.0.1"]
remark = "grid"
"""


@dataclass
class Setup:
    home: Path
    pw_file: Path
    url: str

    def kutui(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        env["KUTUI_HOME"] = str(self.home)
        return subprocess.run(
            [sys.executable, "-m", "kutui", "--passphrase-file", str(self.pw_file), *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=60,
            check=False,
        )

    def vault(self) -> Vault:
        return Vault.open(self.home / "vault.kv1", passphrase=Secret(VAULT_PW))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    state = tmp_path / "sim.toml"
    with simulate(state, STATE) as url:
        yield make_home(tmp_path, url)


def make_home(tmp_path: Path, url: str) -> Setup:
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    (root / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    (root / "config.toml").chmod(0o600)
    pw_file = tmp_path / "pw"
    pw_file.write_text(VAULT_PW + "\n")
    pw_file.chmod(0o600)
    home = Home.load(root)

    def seed(registry: Registry) -> None:
        registry.accounts.append(
            Account("main", api_url=url, uid=1001, subaccounts=[SubAccount("bot1sub", 2001)])
        )
        registry.keys.append(
            ApiKey(
                "k-master", KeyRef("main", "", "admin"), fingerprint=MASTER[0][-4:], has_secret=True
            )
        )
        registry.keys.append(
            ApiKey(
                "k-bot",
                KeyRef("main", "bot1sub", "grid"),
                fingerprint=OLD[0][-4:],
                has_secret=True,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                ip_whitelist_seen="127.0.0.1",
                note=PermissionNote("grid bot", ("General", "Spot"), ("grid-bot",)),
            )
        )

    home.update_registry(seed)
    vault = Vault.create(
        home.paths.vault, passphrase=Secret(VAULT_PW), kdf=TINY_KDF, allow_weak=True
    )

    def fill(data: VaultData) -> None:
        for key_id, (k, s, p) in (("k-master", MASTER), ("k-bot", OLD)):
            data.put(key_id, Credential(Secret(k), Secret(s), Secret(p)), Slot.CURRENT)

    vault.update(fill)
    return Setup(root, pw_file, url)


async def answer(url: str, cred: Credential) -> str:
    client = KucoinClient(url)
    try:
        await client.api_key_info(cred)
        return "200000"
    except KucoinError as exc:
        return exc.code or str(exc.status)
    finally:
        await client.aclose()


def test_cli_rotation_stops_for_consumers_then_resumes_with_yes(setup: Setup) -> None:
    first = setup.kutui("rotate", "main/bot1sub/grid")
    assert first.returncode == 2, first.stderr
    assert "waiting for a person to switch grid-bot" in first.stderr
    assert "✓ Verify the new key: new key" in first.stdout
    listed = setup.kutui("rotate", "--list")
    assert listed.returncode == 0 and "main/bot1sub/grid" in listed.stdout
    assert "Switch consumers" in listed.stdout
    again = setup.kutui("rotate", "main/bot1sub/grid")
    assert again.returncode == 2 and "already has an open rotation" in again.stderr

    # --yes alone never ticks a manual consumer: a person names it.
    refused = setup.kutui("rotate", "main/bot1sub/grid", "--resume", "--yes")
    assert refused.returncode == 2 and "grid-bot" in refused.stderr
    done = setup.kutui("rotate", "main/bot1sub/grid", "--resume", "--yes", "--switched", "grid-bot")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "finished" in done.stdout

    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    slots = setup.vault().data.slots("k-bot")
    assert set(slots) == {Slot.CURRENT}
    new = slots[Slot.CURRENT]
    assert asyncio.run(answer(setup.url, new)) == "200000"
    assert asyncio.run(answer(setup.url, old)) == "400003"

    (path,) = (setup.home / "rotations").glob("*.toml")
    doc = tomllib.loads(path.read_text())
    assert doc["state"] == "finished"
    assert [s["status"] for s in doc["steps"]] == ["done"] * 9
    assert all(s["evidence"] and s["done_at"] >= s["started_at"] for s in doc["steps"])
    output = first.stdout + first.stderr + done.stdout + done.stderr + path.read_text()
    for value in (
        *OLD,
        *MASTER,
        new.api_key.reveal(),
        new.api_secret.reveal(),
        new.passphrase.reveal(),
    ):
        assert value not in output
    assert setup.kutui("rotate", "--list").stdout.strip() == "no open rotations"


def test_cli_abort_keeps_old_key(setup: Setup) -> None:
    setup.kutui("rotate", "main/bot1sub/grid")
    aborted = setup.kutui("rotate", "main/bot1sub/grid", "--abort")
    assert aborted.returncode == 0, aborted.stderr
    assert "deleted on KuCoin" in aborted.stdout
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    assert setup.vault().data.slots("k-bot") == {Slot.CURRENT: old}
    assert asyncio.run(answer(setup.url, old)) == "200000"


def test_cli_asks_for_a_masked_whitelist(setup: Setup) -> None:
    Home.load(setup.home).update_registry(
        lambda r: setattr(r.key_by_id("k-bot"), "ip_whitelist_seen", "")
    )
    first = setup.kutui("rotate", "main/bot1sub/grid", "--yes")
    assert first.returncode == 1
    assert "--ip-whitelist" in first.stdout
    done = setup.kutui(
        "rotate",
        "main/bot1sub/grid",
        "--resume",
        "--yes",
        "--ip-whitelist",
        "127.0.0.1",
        "--switched",
        "grid-bot",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IP whitelist 127.0.0.1" in done.stdout


def test_cli_bad_checklist_is_one_clear_line(setup: Setup) -> None:
    setup.kutui("rotate", "main/bot1sub/grid")
    (path,) = (setup.home / "rotations").glob("*.toml")
    bad = path.read_text().replace("schema_version = 1", "schema_version = 9")
    path.write_text(bad)
    result = setup.kutui("rotate", "main/bot1sub/grid", "--resume", "--yes")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"kutui: {path}: schema_version: is 9, written by a newer kutui (this one reads up to 1) "
        "(upgrade kutui to resume this rotation)"
    ]
    assert path.read_text() == bad


@pytest.mark.slow
@pytest.mark.parametrize(
    "point",
    [
        "plan:done",
        "create:running",
        "create-answer-lost",
        "create:done",
        "verify-new:running",
        "promote:running",
        "revoke-old:running",
        "revoke-old:done",
        "purge-previous:running",
    ],
)
def test_killed_process_resumes_from_the_command_line(setup: Setup, point: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.rotation.crash_child",
            str(setup.home),
            str(setup.pw_file),
            "main/bot1sub/grid",
            point,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 77, child.stderr
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    # Whatever the moment of death, the stored CURRENT key works.
    current = setup.vault().data.get("k-bot", Slot.CURRENT)
    assert current is not None
    assert asyncio.run(answer(setup.url, current)) == "200000"

    resumed = setup.kutui(
        "rotate", "main/bot1sub/grid", "--resume", "--yes", "--switched", "grid-bot"
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    slots = setup.vault().data.slots("k-bot")
    assert set(slots) == {Slot.CURRENT}
    assert asyncio.run(answer(setup.url, slots[Slot.CURRENT])) == "200000"
    assert asyncio.run(answer(setup.url, old)) == "400003"
    assert asyncio.run(sub_key_ids(setup.url)) == [slots[Slot.CURRENT].api_key.reveal()]


async def sub_key_ids(url: str) -> list[str]:
    client = KucoinClient(url)
    try:
        master = Credential(Secret(MASTER[0]), Secret(MASTER[1]), Secret(MASTER[2]))
        return [k.api_key for k in await client.sub_api_keys(master, "bot1sub")]
    finally:
        await client.aclose()
