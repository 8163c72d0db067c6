"""A faithful fake KuCoin, in-process (httpx transport) or on loopback (``kutui simulate``).

Build state in Python without any file::

    from kutui.kucoin.simulator import Simulator
    from kutui.kucoin.client import KucoinClient

    sim = Simulator(quota_window_ms=2000)            # ServerSettings fields as keywords
    sim.add_user(1001, vip_level=2)                  # a master account
    sim.add_user(2001, sub_name="bot1", master_uid=1001)
    sim.add_user(2002, sub_name="ice", master_uid=1001, status="frozen")
    master = sim.add_key(1001, permission="General,Spot", remark="admin")
    bot = sim.add_key(2001, ip_whitelist=["10.0.0.0/8"], api_version=2)
    sim.set_fault(2001, "timeout")  # or "5xx", "html", "clock_skew", "rate_limit"

    client = KucoinClient("https://api.kucoin.com", transport=sim.transport(client_ip="10.1.2.3"))
    info = await client.api_key_info(master.credential())

Or load a state file: ``Simulator.from_toml(path)`` (format in ``simulator.state``). Keys get a
random 24-hex ``api_key`` and UUID ``api_secret`` unless given. ``sim.counters`` holds what the
tests may read (``requests``, ``rate_limited``, ``endpoints``, ``codes``, ``faults``);
``sim.clock`` (host ms) is injectable via ``Simulator(clock=...)``; ``sim.server`` is the live
``ServerSettings`` (latency, faults, ``time_offset_ms``, ``quota_window_ms``...).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kutui.kucoin.simulator.exchange import Counters, Exchange, SimResponse
from kutui.kucoin.simulator.state import (
    ServerSettings,
    SimKey,
    SimState,
    SimulatorStateError,
    SimUser,
    load_state,
)
from kutui.kucoin.simulator.transport import SimulatorTransport


class Simulator(Exchange):
    """The exchange plus builder conveniences."""

    def __init__(
        self,
        state: SimState | None = None,
        *,
        clock: Callable[[], float] | None = None,
        **server: Any,
    ) -> None:
        state = state or SimState()
        for name, value in server.items():
            if not hasattr(state.server, name):
                raise TypeError(f"unknown server setting {name!r}")
            setattr(state.server, name, value)
        super().__init__(state, clock=clock)

    @classmethod
    def from_toml(cls, path: Path | str, *, clock: Callable[[], float] | None = None) -> Simulator:
        return cls(load_state(path), clock=clock)

    def transport(self, *, client_ip: str = "127.0.0.1") -> SimulatorTransport:
        return SimulatorTransport(self, client_ip=client_ip)


__all__ = [
    "Counters",
    "Exchange",
    "ServerSettings",
    "SimKey",
    "SimResponse",
    "SimState",
    "SimUser",
    "Simulator",
    "SimulatorStateError",
    "SimulatorTransport",
    "load_state",
]
