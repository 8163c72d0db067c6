"""Every OpenBao failure is one clear line, exit 2, and nothing changes in the local home
(Done when 3 of the OpenBao issue): server down, sealed, token revoked, a policy without write,
writes that keep conflicting, a path holding something that is not a kutui key."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import pytest

from kutui.errors import KutuiError
from kutui.model import Account, Registry
from kutui.store.home import Home
from kutui.store.openbao import client as client_mod
from tests.openbao.conftest import BaoHome, MakeHome, Runner
from tests.openbao.server import DevServer
from tests.openbao.test_shared import creds, stdin_for


def fingerprint(root: Path) -> dict[str, str]:
    """The home's files, but state.toml (an add notes its key ids there first and clears them
    on failure, as on a local store) and the empty lock files."""
    from kutui.store.state import read_state

    assert read_state(root / "state.toml").adding == ()
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("state.toml") and p.suffix != ".lock"
    }


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def seeded(make_home: MakeHome, run: Runner, server: DevServer | None = None) -> BaoHome:
    home = make_home("ops", server=server)
    added = run(home, "key", "add", "main/bot1", stdin=stdin_for(creds(1)))
    assert added.code == 0, added.err
    return home


def test_server_down(own_server: DevServer, make_home: MakeHome, run: Runner) -> None:
    home = seeded(make_home, run, own_server)
    before = fingerprint(home.root)
    own_server.stop()
    for argv in (("key", "list"), ("key", "add", "main/bot2")):
        result = run(home, *argv, stdin=stdin_for(creds(2)))
        assert result.code == 2
        line = one_line(result.err)
        assert f"openbao {own_server.addr} cannot be reached" in line
    assert fingerprint(home.root) == before


def test_sealed(own_server: DevServer, make_home: MakeHome, run: Runner) -> None:
    home = seeded(make_home, run, own_server)
    before = fingerprint(home.root)
    sealed = own_server.bao("operator", "seal")
    assert sealed.returncode == 0, sealed.stderr
    result = run(home, "key", "add", "main/bot2", stdin=stdin_for(creds(2)))
    assert result.code == 2
    assert "is sealed" in one_line(result.err)
    assert fingerprint(home.root) == before


def child_token(server: DevServer, *policies: str) -> str:
    argv = ["token", "create", "-format=json", "-ttl=1h"]
    argv += [f"-policy={p}" for p in policies] or ["-policy=default"]
    made = server.bao(*argv)
    assert made.returncode == 0, made.stderr
    token: str = json.loads(made.stdout)["auth"]["client_token"]
    return token


def test_revoked_token(bao_server: DevServer, make_home: MakeHome, run: Runner) -> None:
    token = child_token(bao_server, "root")
    home = make_home("revoked", token=token)
    added = run(home, "key", "add", "main/bot1", stdin=stdin_for(creds(1)))
    assert added.code == 0, added.err
    before = fingerprint(home.root)
    assert bao_server.bao("token", "revoke", token).returncode == 0
    result = run(home, "key", "list")
    assert result.code == 2
    assert "the token is refused (expired or revoked)" in one_line(result.err)
    assert token not in result.err
    assert fingerprint(home.root) == before


def test_policy_without_write(
    bao_server: DevServer, make_home: MakeHome, run: Runner, prefix: str
) -> None:
    operator = seeded(make_home, run)
    policy = (
        f'path "secret/data/{prefix}/*" {{ capabilities = ["read"] }}\n'
        f'path "secret/metadata/{prefix}/*" {{ capabilities = ["read", "list"] }}\n'
    )
    written = bao_server.bao("policy", "write", f"ro-{prefix}", "-", stdin=policy)
    assert written.returncode == 0, written.stderr
    reader = make_home("reader", token=child_token(bao_server, f"ro-{prefix}"))
    listed = run(reader, "key", "list")
    assert listed.code == 0 and "main/bot1" in listed.out, listed.err
    before = fingerprint(reader.root)
    result = run(reader, "key", "add", "main/bot2", stdin=stdin_for(creds(2)))
    assert result.code == 2
    assert "the token's policy does not allow this" in one_line(result.err)
    assert fingerprint(reader.root) == before
    assert [str(k.ref) for k in Home.load(operator.root).registry().keys] == ["main/bot1"]


def test_conflicting_writes_are_retried_then_reported(make_home: MakeHome) -> None:
    alice, bob = Home.load(make_home("alice").root), Home.load(make_home("bob").root)
    bob.update_registry(lambda r: r.accounts.append(Account("seed")))
    calls = {"n": 0}

    def add_once_interrupted(registry: Registry) -> None:
        """Bob writes between Alice's read and her write, the first time only."""
        calls["n"] += 1
        if calls["n"] == 1:
            bob.update_registry(lambda r: r.accounts.append(Account("bob")))
        registry.accounts.append(Account("alice"))

    alice.update_registry(add_once_interrupted)
    assert calls["n"] == 2
    assert sorted(a.name for a in bob.registry().accounts) == ["alice", "bob", "seed"]

    def always_interrupted(registry: Registry) -> None:
        calls["n"] += 1
        bob.update_registry(lambda r: r.accounts.append(Account(f"b{calls['n']}")))
        registry.accounts.append(Account("lost"))

    calls["n"] = 0
    with pytest.raises(KutuiError) as caught:
        alice.update_registry(always_interrupted)
    assert caught.value.exit_code == 2
    assert f"changed by another writer {client_mod.ATTEMPTS} times in a row" in str(caught.value)
    names = [a.name for a in alice.registry().accounts]
    assert "lost" not in names and names[3:] == [f"b{i}" for i in range(1, calls["n"] + 1)]


def test_a_path_holding_something_else_is_left_alone(
    bao_server: DevServer, make_home: MakeHome, run: Runner, prefix: str
) -> None:
    home = make_home("ops")
    assert (
        bao_server.bao("kv", "put", f"secret/{prefix}/main/bot1", "db_password=hunter2").returncode
        == 0
    )
    result = run(home, "key", "add", "main/bot1", stdin=stdin_for(creds(1)))
    assert result.code == 2
    assert "holds a secret that is not a kutui key" in one_line(result.err)
    got = bao_server.bao("kv", "get", "-format=json", f"secret/{prefix}/main/bot1")
    assert json.loads(got.stdout)["data"]["data"] == {"db_password": "hunter2"}
    assert Home.load(home.root).registry().keys == []
    # The registry's own path holding something else is refused the same way.
    assert bao_server.bao("kv", "put", f"secret/{prefix}/_kutui/registry", "x=1").returncode == 0
    listed = run(home, "key", "list")
    assert listed.code == 2 and "is not a kutui registry" in one_line(listed.err)


def test_missing_hvac_says_what_to_install(
    make_home: MakeHome, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home("nohvac")
    monkeypatch.setitem(sys.modules, "hvac", None)
    result = run(home, "key", "list")
    assert result.code == 2
    assert "pip install 'kutui[openbao]'" in one_line(result.err)


def test_plain_http_to_a_remote_server_is_refused(make_home: MakeHome, run: Runner) -> None:
    home = make_home("remote")
    config = home.root / "config.toml"
    config.write_text(config.read_text().replace(home.server.addr, "http://bao.example.com:8200"))
    result = run(home, "key", "list")
    assert result.code == 2
    line = one_line(result.err)
    assert "store.addr" in line and "plain http to a remote host" in line


def test_expired_token(bao_server: DevServer, make_home: MakeHome, run: Runner) -> None:
    made = bao_server.bao("token", "create", "-format=json", "-policy=root", "-ttl=3s")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["auth"]["client_token"]
    home = make_home("expiring", token=token)
    assert run(home, "key", "list").code == 0
    before = fingerprint(home.root)
    time.sleep(4)
    result = run(home, "key", "list")
    assert result.code == 2
    assert "the token is refused (expired or revoked)" in one_line(result.err)
    assert fingerprint(home.root) == before
