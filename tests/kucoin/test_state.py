"""The simulator state file: the issue's example loads; every mistake names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.kucoin.simulator import Simulator, SimulatorStateError, load_state

EXAMPLE = """
[server]                # optional
time_offset_ms = 0
latency_ms = 0

[[users]]
uid = 1001
sub_name = ""           # "" = master account
master_uid = 1001       # a sub-account's owner; a master's own uid
status = "active"       # or "frozen"
vip_level = 0

[[users]]
uid = 2001
sub_name = "bot1"
master_uid = 1001
status = "frozen"

[[keys]]
uid = 1001
api_key = "6705f5c311545b000157d3eb"
api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
passphrase = "Ab12345678"
api_version = 3
permission = "General,Spot"
ip_whitelist = []       # empty = any address
remark = "spot bot"
created_at = 1728443843000
expire_days = -1

[[keys]]
uid = 2001
api_key = "6705f5c311545b000157d3ec"
api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e4"
passphrase = "Ab12345679"
api_version = 2
ip_whitelist = ["10.0.0.0/8"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "state.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_loads(tmp_path: Path) -> None:
    sim = Simulator.from_toml(_write(tmp_path, EXAMPLE))
    assert [u.uid for u in sim.state.users] == [1001, 2001]
    assert sim.user(2001).frozen and not sim.user(2001).is_master
    key = sim.key("6705f5c311545b000157d3ec")
    assert key is not None and key.api_version == 2 and key.ip_whitelist == ("10.0.0.0/8",)
    assert key.permission == "General" and key.created_at > 0


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("api_version = 3", "api_version = 4"), "keys[0].api_version"),
        (("api_version = 3", 'api_version = "3"'), "keys[0].api_version"),
        (('remark = "spot bot"', 'remark = "spot bot"\ncolour = 1'), "keys[0].colour"),
        (('permission = "General,Spot"', 'permission = "General,Teleport"'), "keys[0].permission"),
        (("expire_days = -1", "expire_days = 7"), "keys[0].expire_days"),
        (
            ("ip_whitelist = []       #", 'ip_whitelist = ["10.0.0.300"] #'),
            "keys[0].ip_whitelist[0]",
        ),
        (('status = "frozen"', 'status = "asleep"'), "users[1].status"),
        (("uid = 2001\nsub_name", "uid = 1001\nsub_name"), "users[1]"),
        (
            ('master_uid = 1001\nstatus = "frozen"', 'master_uid = 77\nstatus = "frozen"'),
            "users[1].master_uid",
        ),
        (
            ('api_key = "6705f5c311545b000157d3ec"', 'api_key = "6705f5c311545b000157d3eb"'),
            "keys[1].api_key",
        ),
        (("uid = 2001\napi_key", "uid = 3003\napi_key"), "keys[1].uid"),
        (("latency_ms = 0", "latency_ms = -5"), "server.latency_ms"),
        (("latency_ms = 0", "error_rate = 2.0"), "server.error_rate"),
        (("vip_level = 0", "vip_level = true"), "users[0].vip_level"),
        (('passphrase = "Ab12345678"\n', ""), "keys[0].passphrase"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, edit: tuple[str, str], where: str) -> None:
    old, new = edit
    assert old in EXAMPLE
    path = _write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(SimulatorStateError) as caught:
        load_state(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}"), message
    assert "f03a5284" not in message and "Ab1234567" not in message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SimulatorStateError, match="no such file"):
        load_state(tmp_path / "missing.toml")
    with pytest.raises(SimulatorStateError, match="not valid TOML"):
        load_state(_write(tmp_path, "[[users]\nuid = 1"))
    with pytest.raises(SimulatorStateError, match="unknown table"):
        load_state(_write(tmp_path, "[servers]\nlatency_ms = 1"))
    assert SimulatorStateError.exit_code == 2
