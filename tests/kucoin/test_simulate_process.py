"""`kutui simulate` as a real process on loopback, driven by the client over a socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kutui.kucoin.client import KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.model import Credential
from kutui.secret import Secret

STATE = """
[server]
quota_window_ms = 30000

[[users]]
uid = 1001

[[users]]
uid = 2001
sub_name = "bot1"
master_uid = 1001

[[keys]]
uid = 1001
api_key = "6705f5c311545b000157d3eb"
api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
passphrase = "Ab12345678"
permission = "General,Spot"
remark = "admin"

[[keys]]
uid = 2001
api_key = "6705f5c311545b000157d3ec"
api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e4"
passphrase = "Ab12345679"
ip_whitelist = ["10.1.2.3"]
"""

MASTER = Credential(
    Secret("6705f5c311545b000157d3eb"),
    Secret("f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"),
    Secret("Ab12345678"),
)
WHITELISTED = Credential(
    Secret("6705f5c311545b000157d3ec"),
    Secret("f03a5284-5c39-4aaa-9b20-dea10bdcf8e4"),
    Secret("Ab12345679"),
)


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    state = tmp_path / "state.toml"
    state.write_text(STATE, encoding="utf-8")
    env = {**os.environ, "KUTUI_HOME": str(tmp_path / "home")}
    return subprocess.Popen(
        [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = _start(tmp_path)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def test_the_client_talks_to_kutui_simulate_over_a_socket(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = server
    client = KucoinClient(url, timeout=5.0)
    info = await client.api_key_info(MASTER)
    assert (info.uid, info.is_master, info.remark) == (1001, True, "admin")
    subs = await client.sub_accounts(MASTER)
    assert [s.sub_name for s in subs] == ["bot1"]
    with pytest.raises(KucoinApiError) as caught:
        await client.api_key_info(WHITELISTED)
    assert caught.value.status == "ip_denied" and "127.0.0.1" in str(caught.value)
    created = await client.create_sub_api_key(
        MASTER, sub_name="bot1", passphrase=Secret("Pass!@#word1"), remark="over-http"
    )
    await client.delete_sub_api_key(
        MASTER, sub_name="bot1", api_key=created.api_key.reveal(), passphrase=created.passphrase
    )
    budget = client.rate_limit_for(MASTER)
    assert budget is not None and budget.limit == 2000
    await client.aclose()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_sigint_stops_it_cleanly(server: tuple[subprocess.Popen[str], str]) -> None:
    proc, _ = server
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_a_bad_state_file_exits_2_naming_the_key(tmp_path: Path) -> None:
    state = tmp_path / "bad.toml"
    state.write_text("[[keys]]\nuid = 1\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"{state}: keys[0].api_key" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_port_in_use_exits_2(tmp_path: Path, server: tuple[subprocess.Popen[str], str]) -> None:
    _, url = server
    port = url.rsplit(":", 1)[1]
    state = tmp_path / "state.toml"
    done = subprocess.run(
        [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
