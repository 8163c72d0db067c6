"""``kutui simulate`` as a subprocess on loopback, driven by ccxt, kucoin-universal-sdk and
python-kucoin exactly as they ship (their own headers, encodings and version numbers).

The peers sign with the real clock, so the simulator runs without ``KUTUI_CLOCK_SHIFT_DAYS``.
Every socket the tests open must go to 127.0.0.1: a peer that tried KuCoin's real site fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e{}"
#: Passphrase holding the characters URLs must escape (docs/kucoin.md, "Query signing").
SUB_KEY_PASSPHRASE = "Key!@#pass1"
SUBS = 12  # sub-accounts of master 1001: three V2 pages of 5

# (name, uid, api_version, permission, whitelist): every key the tests use.
KEYS: dict[str, tuple[int, int, str, list[str]]] = {
    "v3": (1001, 3, "General", []),
    "v2": (1001, 2, "General", []),
    "v1": (1001, 1, "General", []),
    "whitelisted": (1001, 3, "General", ["10.0.0.1"]),
    "no_general": (1001, 3, "Spot", []),
    "frozen": (1003, 3, "General", []),
    "rate_limited": (1004, 3, "General", []),
    "sub": (2001, 3, "General", []),
}
# python-kucoin can only authenticate V1 keys (docs/kucoin.md): a V1 twin of each failing key.
TWINS = ("whitelisted", "no_general", "frozen", "rate_limited", "sub")
KEYS.update({f"{name}_v1": (KEYS[name][0], 1, *KEYS[name][2:]) for name in TWINS})


def api_key(name: str) -> str:
    return f"{list(KEYS).index(name) + 1:024x}"


def secret(name: str) -> str:
    return SECRET.format(list(KEYS).index(name))


def passphrase(name: str) -> str:
    return f"Pass-{name}-1"


def _state(time_offset_ms: int) -> str:
    lines = [f"[server]\ntime_offset_ms = {time_offset_ms}\n"]
    lines.append("[[users]]\nuid = 1001\n")
    lines.append('[[users]]\nuid = 1003\nstatus = "frozen"\n')
    lines.append('[[users]]\nuid = 1004\nfault = "rate_limit"\n')
    for n in range(SUBS):
        lines.append(
            f'[[users]]\nuid = {2001 + n}\nsub_name = "compat{n:02d}"\nmaster_uid = 1001\n'
        )
    for name, (uid, version, permission, whitelist) in KEYS.items():
        lines.append(
            f'[[keys]]\nuid = {uid}\napi_key = "{api_key(name)}"\napi_secret = "{secret(name)}"\n'
            f'passphrase = "{passphrase(name)}"\napi_version = {version}\n'
            f'permission = "{permission}"\nip_whitelist = {whitelist!r}\n'.replace("'", '"')
        )
    return "\n".join(lines)


def _serve(tmp: Path, time_offset_ms: int) -> Iterator[str]:
    state = tmp / "state.toml"
    state.write_text(_state(time_offset_ms), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "KUTUI_CLOCK_SHIFT_DAYS"}
    env["KUTUI_HOME"] = str(tmp / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("compat"), 0)


@pytest.fixture(scope="session")
def skewed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator whose clock runs 60 s ahead of the host's (``time_offset_ms``)."""
    yield from _serve(tmp_path_factory.mktemp("compat-skewed"), 60_000)


_LOOPBACK = ("127.0.0.1", "localhost")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or connection beyond 127.0.0.1 fails the test instead of leaving."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOOPBACK:
            raise AssertionError(f"a peer tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise AssertionError(f"a peer tried to connect to {address[0]!r}")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
