"""Shared simulator fixtures: a fake clock and a small KuCoin world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from kutui.kucoin import signing
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.simulator import SimKey, Simulator
from kutui.kucoin.simulator.exchange import SimResponse
from kutui.model import Credential

START_MS = 1_750_000_000_000.0
MASTER_UID = 1001


@dataclass
class FakeClock:
    """Host time in epoch ms; ``sleep`` advances it instead of waiting."""

    now: float = START_MS
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds * 1000.0


@dataclass
class World:
    sim: Simulator
    clock: FakeClock
    master: SimKey  # General, master account
    sub: SimKey  # General,Spot on sub-account "bot1"

    def client(self, *, client_ip: str = "127.0.0.1", **options: object) -> KucoinClient:
        options = {"clock": self.clock, "sleep": self.clock.sleep, **options}
        return KucoinClient(
            "https://api.kucoin.com",
            transport=self.sim.transport(client_ip=client_ip),
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> World:
    sim = Simulator(clock=clock)
    sim.add_user(MASTER_UID, vip_level=0)
    sim.add_user(2001, sub_name="bot1", master_uid=MASTER_UID)
    master = sim.add_key(MASTER_UID, passphrase="Master-pass1", remark="admin")
    sub = sim.add_key(2001, passphrase="Sub-pass-12", permission="General,Spot", remark="bot")
    return World(sim, clock, master, sub)


@pytest.fixture
async def client(world: World) -> AsyncIterator[KucoinClient]:
    client = world.client()
    yield client
    await client.aclose()


def signed_call(
    sim: Simulator,
    key: SimKey,
    method: str = "GET",
    path: str = "/api/v1/user/api-key",
    *,
    params: list[tuple[str, str]] | None = None,
    body: str = "",
    client_ip: str = "127.0.0.1",
    tweak: Callable[[dict[str, str]], object] | None = None,
    timestamp_ms: int | None = None,
    sign_query: str | None = None,
    cred: Credential | None = None,
) -> SimResponse:
    """One request straight into the exchange, signed as kutui signs (``tweak`` edits headers)."""
    params = params or []
    raw = signing.raw_query(params)
    stamp = int(sim.now_ms()) if timestamp_ms is None else timestamp_ms
    headers = {"Content-Type": "application/json"}
    headers.update(
        signing.auth_headers(
            cred or key.credential(),
            timestamp_ms=stamp,
            method=method,
            path=path,
            query=raw if sign_query is None else sign_query,
            body=body,
        )
    )
    if tweak:
        tweak(headers)
    target = path + (f"?{signing.encoded_query(params)}" if params else "")
    return sim.handle(method, target, headers, body.encode(), client_ip)
