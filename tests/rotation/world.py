"""A kutui home, a vault and a simulated KuCoin, set up for rotation tests.

``World.restart()`` drops every in-memory object and reloads home, vault and checklists from disk,
as a new process would; the simulator (KuCoin) lives on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kutui.commands import common
from kutui.errors import KucoinError
from kutui.kucoin import client as client_module
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.state import SimKey
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
from kutui.rotation.engine import Context
from kutui.rotation.session import master_credential
from kutui.rotation.store import RotationStore
from kutui.store.home import Home
from kutui.store.vault import Vault

API_URL = "https://api.kucoin.com"
KEK = bytes(range(32))  # a keyring stanza: opens without running a KDF (fast tests)
MASTER_ID = "k-master"
SUB_ID = "k-bot"
MKEY_ID = "k-mkey"


@dataclass
class World:
    root: Path
    sim: Simulator
    home: Home
    vault: Vault
    master: SimKey
    old: SimKey
    old_master: SimKey
    saves: list[str] = field(default_factory=list)

    @property
    def store(self) -> RotationStore:
        return RotationStore(self.home.paths.rotations_dir)

    def client(self) -> KucoinClient:
        return KucoinClient(API_URL, transport=self.sim.transport(client_ip="10.1.2.3"))

    def context(
        self, remote: object | None = None, on_save: Callable[[str], None] | None = None
    ) -> Context:
        def record(label: str) -> None:
            self.saves.append(label)
            if on_save is not None:
                on_save(label)

        async def no_sleep(_: float) -> None:
            return None

        return Context(
            store=self.store,
            vault=self.vault,
            registry=self.home,
            remote=remote if remote is not None else self.client(),  # type: ignore[arg-type]
            master=lambda: master_credential(self.home, self.vault, "main"),
            verify_delays=(0.0, 0.0),
            on_save=record,
            sleep=no_sleep,
            consumers=self.home,
        )

    def restart(self) -> None:
        self.home = Home.load(self.root)
        self.vault = Vault.open(self.home.paths.vault, keyring_kek=KEK)

    def key(self, key_id: str = SUB_ID) -> ApiKey:
        found = self.home.registry().key_by_id(key_id)
        assert found is not None
        return found

    # ---- facts about KuCoin, asked the way a user would

    async def works(self, cred: Credential | None) -> bool:
        if cred is None:
            return False
        client = self.client()
        try:
            await client.api_key_info(cred)
            return True
        except KucoinError:
            return False
        finally:
            await client.aclose()

    async def dead(self, cred: Credential) -> bool:
        client = self.client()
        try:
            await client.api_key_info(cred)
            return False
        except KucoinError as exc:
            return exc.code == "400003"
        finally:
            await client.aclose()

    def sub_keys(self) -> list[SimKey]:
        return self.sim.keys_of(2001)


FIXED = {
    "master": ("6705f5c311545b000157d3eb", "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"),
    "old_master": ("6705f5c311545b000157c0de", "0b1c2d3e-5c39-4aaa-9b20-dea10bdcf8e3"),
    "old": ("6705f5c311545b000157aaaa", "a1b2c3d4-5c39-4aaa-9b20-dea10bdcf8e3"),
}


def make_world(root: Path, *, consumers: tuple[str, ...] = ("grid-bot", "tax-export")) -> World:
    """Fixed ids for the keys that exist at the start (new keys get the simulator's random ids)."""
    sim = Simulator()
    sim.add_user(1001, vip_level=2)
    sim.add_user(2001, sub_name="bot1sub", master_uid=1001)
    master = sim.add_key(
        1001,
        api_key=FIXED["master"][0],
        api_secret=FIXED["master"][1],
        permission="General",
        remark="admin",
        passphrase="MasterPass-1",
    )
    old_master = sim.add_key(
        1001,
        api_key=FIXED["old_master"][0],
        api_secret=FIXED["old_master"][1],
        permission="General,Spot",
        remark="trading",
        passphrase="MasterPass-2",
    )
    old = sim.add_key(
        2001,
        api_key=FIXED["old"][0],
        api_secret=FIXED["old"][1],
        permission="General,Spot",
        ip_whitelist=["10.1.2.3"],
        remark="grid",
        passphrase="OldPassphrase-7",
    )
    home = Home.load(root)
    created = datetime(2026, 1, 1, tzinfo=UTC)

    def seed(registry: Registry) -> None:
        registry.accounts.append(
            Account("main", api_url=API_URL, uid=1001, subaccounts=[SubAccount("bot1sub", 2001)])
        )
        registry.keys.append(
            ApiKey(
                MASTER_ID,
                KeyRef("main", "", "admin"),
                fingerprint=master.api_key[-4:],
                has_secret=True,
                created_at=created,
            )
        )
        registry.keys.append(
            ApiKey(
                MKEY_ID,
                KeyRef("main", "", "trading"),
                fingerprint=old_master.api_key[-4:],
                has_secret=True,
                created_at=created,
                permissions_seen=("General", "Spot"),
            )
        )
        registry.keys.append(
            ApiKey(
                SUB_ID,
                KeyRef("main", "bot1sub", "grid"),
                fingerprint=old.api_key[-4:],
                has_secret=True,
                created_at=created,
                permissions_seen=("General", "Spot"),
                ip_whitelist_seen="10.1.2.3",
                note=PermissionNote("grid bot", ("General", "Spot"), consumers),
            )
        )

    home.update_registry(seed)
    vault = Vault.create(home.paths.vault, passphrase=None, keyring_kek=KEK)

    def fill(data: object) -> None:
        from kutui.store.vault import VaultData

        assert isinstance(data, VaultData)
        data.put(MASTER_ID, master.credential(), Slot.CURRENT)
        data.put(MKEY_ID, old_master.credential(), Slot.CURRENT)
        data.put(SUB_ID, old.credential(), Slot.CURRENT)

    vault.update(fill)
    return World(root, sim, home, vault, master, old, old_master)


def cli_on(world: World, monkeypatch: pytest.MonkeyPatch, *, tty: bool = True) -> None:
    """Commands run in this process talk to the world's simulator and open its vault, as on a
    terminal when ``tty`` (the CLI then asks its questions)."""
    transport = world.sim.transport(client_ip="10.1.2.3")
    real_pool = client_module.ClientPool

    def pool(**kwargs: Any) -> Any:
        return real_pool(transport=transport, **kwargs)

    monkeypatch.setattr(client_module, "ClientPool", pool)
    monkeypatch.setattr(common, "open_vault", lambda args, home: world.vault)
    monkeypatch.setattr(common, "is_tty", lambda stream=None: tty)
