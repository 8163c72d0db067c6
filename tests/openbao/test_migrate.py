"""``kutui migrate`` both ways (Done when 4 of the OpenBao issue): every key, its slots, notes
and this host's check history survive; the source is removed only after the target is verified;
a process killed half-way leaves a complete home and the same command run again finishes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kutui.clock import current
from kutui.model import CheckResult, Status
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault
from tests.openbao.conftest import BaoHome, MakeHome
from tests.openbao.test_shared import creds, scan_for, stdin_for

VAULT_PW = "vault-pw-for-migrate-tests"
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)
REFS = ("main/bot1", "main/sub1/bot2", "other/bot3")


def local_home(make_home: MakeHome, name: str = "home") -> tuple[BaoHome, Path]:
    """A local home (the [store] section says local) with three keys and one check each."""
    home = make_home(name)
    (home.root / "config.toml").write_text(
        '[vault]\nunlock = "passphrase"\nargon2_memory_mib = 64\nargon2_iterations = 3\n'
    )
    pw = home.root.parent / f"{name}-pw"
    pw.write_text(VAULT_PW + "\n")
    pw.chmod(0o600)
    Vault.create(
        home.root / "vault.kv1", passphrase=Secret(VAULT_PW), kdf=TINY_KDF, allow_weak=True
    )
    for n, ref in enumerate(REFS):
        added = home.kutui(
            "--passphrase-file",
            str(pw),
            "key",
            "add",
            ref,
            "--note",
            f"n{n}",
            stdin=stdin_for(creds(n)),
        )
        assert added.returncode == 0, added.stderr
    loaded = Home.load(home.root)
    loaded.record_results(
        (key.id, CheckResult(Status.OK, current().now(), latency_ms=12.0))
        for key in loaded.registry().keys
    )
    loaded.close()
    del loaded
    return home, pw


def state_of(home: BaoHome, pw: Path) -> tuple[list[str], dict[str, list[str]], int]:
    """What a user sees: key list lines, each key's CURRENT values, history entries. Read in
    a process of its own, as a user would (a connection to kutui.db kept open here while other
    processes write would test something else)."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from kutui.model import Slot\n"
        "from kutui.store.home import Home\n"
        "home = Home.load(sys.argv[1])\n"
        "registry = home.registry()\n"
        "vault = home.open_vault(passphrase_file=Path(sys.argv[2]))\n"
        "values = {}\n"
        "for key in registry.keys:\n"
        "    c = vault.data.get(key.id, Slot.CURRENT)\n"
        "    values[str(key.ref)] = [\n"
        "        c.api_key.reveal(), c.api_secret.reveal(), c.passphrase.reveal()]\n"
        "listed = sorted(f'{k.ref} {k.note.text} {k.fingerprint}' for k in registry.keys)\n"
        "history = sum(len(home.history(k.id)) for k in registry.keys)\n"
        "print(json.dumps([listed, values, history]))\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code, str(home.root), str(pw)],
        capture_output=True,
        text=True,
        env=home.env(),
        timeout=60,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    listed, values, history = json.loads(got.stdout)
    return listed, values, history


def migrate(home: BaoHome, pw: Path, to: str) -> subprocess.CompletedProcess[str]:
    argv = ["--passphrase-file", str(pw), "migrate", "--to", to]
    if to == "openbao":
        argv += ["--openbao-addr", home.server.addr, "--openbao-prefix", home.prefix]
    return home.kutui(*argv)


def on_server(home: BaoHome, path: str) -> dict[str, Any] | None:
    got = home.server.bao("kv", "get", "-format=json", f"secret/{home.prefix}/{path}")
    if got.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(got.stdout)["data"]["data"]
    return data


def assert_on_openbao(
    home: BaoHome, pw: Path, want: tuple[list[str], dict[str, list[str]], int]
) -> None:
    assert 'kind = "openbao"' in (home.root / "config.toml").read_text()
    assert not (home.root / "vault.kv1").exists()
    assert state_of(home, pw) == want
    for ref, values in want[1].items():
        data = on_server(home, ref)
        assert (
            data is not None and [data["api_key"], data["api_secret"], data["passphrase"]] == values
        )
    assert scan_for(home.root, [v for vs in want[1].values() for v in vs]) == []


def assert_local(
    home: BaoHome, pw: Path, want: tuple[list[str], dict[str, list[str]], int]
) -> None:
    assert 'kind = "local"' in (home.root / "config.toml").read_text()
    assert (home.root / "vault.kv1").exists()
    assert state_of(home, pw) == want
    assert on_server(home, "_kutui/registry") is None
    assert all(on_server(home, ref) is None for ref in REFS)


def test_migrate_to_openbao_and_back(make_home: MakeHome) -> None:
    home, pw = local_home(make_home)
    before = state_of(home, pw)
    assert before[2] == 3
    moved = migrate(home, pw, "openbao")
    assert moved.returncode == 0, moved.stderr
    assert "moved 3 key(s) and 2 account(s)" in moved.stderr
    assert_on_openbao(home, pw, before)
    back = migrate(home, pw, "local")
    assert back.returncode == 0, back.stderr
    assert_local(home, pw, before)


def crash(home: BaoHome, pw: Path, to: str, point: str) -> None:
    argv = [sys.executable, "-m", "tests.openbao.migrate_child", str(home.root), to, point, str(pw)]
    if to == "openbao":
        argv += [home.server.addr, home.prefix]
    child = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=home.env(),
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 77, child.stdout + child.stderr


@pytest.mark.slow
@pytest.mark.parametrize("point", ["secrets:half", "secrets:done", "registry:done", "config:done"])
def test_a_migration_killed_half_way_finishes_when_run_again(
    make_home: MakeHome, point: str
) -> None:
    home, pw = local_home(make_home)
    before = state_of(home, pw)
    crash(home, pw, "openbao", point)
    assert state_of(home, pw) == before  # complete on one side or the other
    again = migrate(home, pw, "openbao")
    assert again.returncode == 0, again.stderr
    assert_on_openbao(home, pw, before)

    crash(home, pw, "local", point)
    assert state_of(home, pw) == before
    again = migrate(home, pw, "local")
    assert again.returncode == 0, again.stderr
    assert_local(home, pw, before)
