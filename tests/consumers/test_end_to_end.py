"""Done when 1: consumers declared, delivered and rotated through the CLI against ``kutui simulate``
on loopback (a subprocess), as a user runs it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kutui.model import Credential, Slot
from kutui.secret import Secret
from tests.rotation.test_cli import OLD, STATE, Setup, answer, make_home
from tests.simulate_process import simulate

REF = "main/bot1sub/grid"
ENV_BEFORE = (
    "# grid bot, read by systemd (EnvironmentFile=)\n"
    "TZ=UTC\n"
    "KUCOIN_API_KEY=placeholder\n"
    "\n"
    "LOG_LEVEL=info  # not a comment for systemd, kept as it is\n"
)
FREQTRADE_BEFORE: dict[str, Any] = {
    "max_open_trades": 3,
    "stake_currency": "USDT",
    "exchange": {
        "name": "kucoin",
        "key": "",
        "secret": "",
        "password": "",
        "pair_whitelist": ["BTC/USDT"],
    },
    "dry_run": False,
}
PASSIVBOT_BEFORE = {
    "binance_01": {"exchange": "binance", "key": "bnb-key", "secret": "bnb-secret"},
    "kucoin_01": {"exchange": "kucoin", "key": "", "secret": "", "passphrase": "", "note": "grid"},
}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    state = tmp_path / "sim.toml"
    with simulate(state, STATE) as url:
        yield make_home(tmp_path, url)


def held(path: Path, kind: str) -> tuple[str, str, str]:
    if kind == "envfile":
        lines = dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if line.startswith("KUCOIN")
        )
        return lines["KUCOIN_API_KEY"], lines["KUCOIN_API_SECRET"], lines["KUCOIN_API_PASSPHRASE"]
    doc = json.loads(path.read_text())
    if kind == "freqtrade":
        ex = doc["exchange"]
        return ex["key"], ex["secret"], ex["password"]
    entry = doc["kucoin_01"]
    return entry["key"], entry["secret"], entry["passphrase"]


def test_deliver_then_rotate_with_yes_puts_one_working_new_key_everywhere(
    setup: Setup, tmp_path: Path
) -> None:
    bots = tmp_path / "bots"
    bots.mkdir(mode=0o755)
    env = bots / "grid.env"
    env.write_text(ENV_BEFORE)
    env.chmod(0o640)
    freqtrade = bots / "config-secrets.json"
    freqtrade.write_text(json.dumps(FREQTRADE_BEFORE, indent=4) + "\n")
    passivbot = bots / "api-keys.json"
    passivbot.write_text(json.dumps(PASSIVBOT_BEFORE, indent=2) + "\n")
    # The note's consumer (a manual one) is not on this machine: forget it.
    assert setup.kutui("consumer", "remove", REF, "grid-bot").returncode == 0
    for name, kind, extra in (
        ("systemd-grid", "envfile", ("--path", str(env))),
        ("freqtrade", "freqtrade", ("--path", str(freqtrade))),
        ("passivbot", "passivbot", ("--path", str(passivbot), "--user", "kucoin_01")),
    ):
        added = setup.kutui("consumer", "add", REF, "--name", name, "--kind", kind, *extra)
        assert added.returncode == 0, added.stderr
    listed = json.loads(setup.kutui("consumer", "list", REF, "--json").stdout)
    assert listed["schema"] == 1
    assert [c["name"] for c in listed["consumers"]] == ["systemd-grid", "freqtrade", "passivbot"]

    delivered = setup.kutui("deliver", REF)
    assert delivered.returncode == 0, delivered.stdout + delivered.stderr
    for path, kind in ((env, "envfile"), (freqtrade, "freqtrade"), (passivbot, "passivbot")):
        assert held(path, kind) == OLD

    rotated = setup.kutui("rotate", REF, "--yes")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new = setup.vault().data.slots("k-bot")[Slot.CURRENT]
    values = (new.api_key.reveal(), new.api_secret.reveal(), new.passphrase.reveal())
    assert values != OLD
    for path, kind in ((env, "envfile"), (freqtrade, "freqtrade"), (passivbot, "passivbot")):
        assert held(path, kind) == values, path
        assert path.stat().st_mode & 0o777 == 0o600, path
    works = Credential(Secret(values[0]), Secret(values[1]), Secret(values[2]))
    assert asyncio.run(answer(setup.url, works)) == "200000"
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    assert asyncio.run(answer(setup.url, old)) == "400003"

    # Everything else in each file is as it was: other lines and comments, other keys in order.
    after = env.read_text().splitlines()
    assert [line for line in after if not line.startswith("KUCOIN_API_")] == [
        line for line in ENV_BEFORE.splitlines() if not line.startswith("KUCOIN_API_")
    ]
    assert after.index(f"KUCOIN_API_KEY={values[0]}") == 2  # replaced where it was
    doc = json.loads(freqtrade.read_text())
    assert list(doc) == list(FREQTRADE_BEFORE)
    assert list(doc["exchange"]) == list(FREQTRADE_BEFORE["exchange"])
    assert {k: v for k, v in doc.items() if k != "exchange"} == {
        k: v for k, v in FREQTRADE_BEFORE.items() if k != "exchange"
    }
    assert doc["exchange"]["pair_whitelist"] == ["BTC/USDT"]
    pdoc = json.loads(passivbot.read_text())
    assert list(pdoc) == ["binance_01", "kucoin_01"]
    assert pdoc["binance_01"] == PASSIVBOT_BEFORE["binance_01"]
    assert pdoc["kucoin_01"]["note"] == "grid"

    # The rotation says what it delivered, and no command printed a secret.
    assert "delivered and read back: systemd-grid, freqtrade, passivbot" in rotated.stdout
    output = "".join(
        r.stdout + r.stderr for r in (delivered, rotated, setup.kutui("consumer", "list", REF))
    )
    for value in (*OLD, *values):
        assert value not in output


def test_a_target_kutui_cannot_write_stops_rotate_yes_before_the_delete(
    setup: Setup, tmp_path: Path
) -> None:
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    (tmp_path / "link.env").symlink_to(real)
    setup.kutui("consumer", "remove", REF, "grid-bot")
    link = str(tmp_path / "link.env")
    setup.kutui("consumer", "add", REF, "--name", "env", "--kind", "envfile", "--path", link)
    rotated = setup.kutui("rotate", REF, "--yes")
    assert rotated.returncode == 2, rotated.stdout + rotated.stderr
    assert "symbolic link" in rotated.stdout and "old key still works" in rotated.stderr
    old = Credential(Secret(OLD[0]), Secret(OLD[1]), Secret(OLD[2]))
    assert asyncio.run(answer(setup.url, old)) == "200000"
    assert setup.vault().data.get("k-bot", Slot.CURRENT) == old
    assert real.read_text() == "A=1\n"
    aborted = setup.kutui("rotate", REF, "--abort")
    assert aborted.returncode == 0, aborted.stderr
    assert asyncio.run(answer(setup.url, old)) == "200000"
