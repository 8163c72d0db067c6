"""Two homes on one OpenBao server share keys and registry (Done when 1 of the OpenBao issue):
each sees the other's keys, concurrent adds lose nothing, ``bao kv get`` reads the documented
fields at the documented path, and neither local home holds a secret."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.model import KeyRef
from kutui.store.home import Home
from tests.openbao.conftest import BaoHome, MakeHome, Runner

API_KEY = "6705f5c311545b000157d3eb"
API_SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
API_PASSPHRASE = "Ab12345678"


def creds(n: int) -> tuple[str, str, str]:
    return (f"6705f5c311545b0001{n:06d}", f"f03a5284-5c39-4aaa-9b20-{n:012d}", f"Pass-{n:06d}-x")


def stdin_for(key: tuple[str, str, str]) -> str:
    return "\n".join(key) + "\n"


def kv_get(home: BaoHome, path: str, *extra: str) -> dict[str, Any]:
    got = home.server.bao("kv", "get", "-format=json", *extra, f"secret/{home.prefix}/{path}")
    assert got.returncode == 0, got.stderr
    document: dict[str, Any] = json.loads(got.stdout)
    return document


def scan_for(root: Path, values: list[str]) -> list[str]:
    """Every file under ``root`` that holds one of ``values`` (bytes, so nothing escapes)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {v[:4]}…" for v in values if v.encode() in data]
    return found


def test_init_writes_the_store_and_creates_the_shared_registry(
    make_home: MakeHome, tmp_path: Path
) -> None:
    template = make_home("template")
    fresh = BaoHome(tmp_path / "fresh", template.server, template.prefix, template.token)
    argv = ("init", "--store", "openbao", "--openbao-addr", fresh.server.addr)
    result = fresh.kutui(*argv, "--openbao-prefix", fresh.prefix)
    assert result.returncode == 0, result.stderr
    assert "created the shared registry" in result.stderr
    config = (fresh.root / "config.toml").read_text()
    assert 'kind = "openbao"' in config and f'prefix = "{fresh.prefix}"' in config
    assert not (fresh.root / "vault.kv1").exists()
    registry = kv_get(fresh, "_kutui/registry")
    assert registry["data"]["data"]["kind"] == "kutui-registry"
    again = fresh.kutui(*argv, "--openbao-prefix", fresh.prefix)
    assert again.returncode == 0 and "joined" in again.stderr


def test_two_homes_see_each_others_keys_and_bao_reads_the_fields(make_home: MakeHome) -> None:
    alice, bob = make_home("alice"), make_home("bob")
    added = alice.kutui(
        "key",
        "add",
        "main/bot1",
        "--note",
        "grid",
        stdin=stdin_for((API_KEY, API_SECRET, API_PASSPHRASE)),
    )
    assert added.returncode == 0, added.stderr
    other = creds(7)
    added = bob.kutui("key", "add", "main/sub1/bot2", stdin=stdin_for(other))
    assert added.returncode == 0, added.stderr
    for home in (alice, bob):
        listed = home.kutui("key", "list")
        assert listed.returncode == 0, listed.stderr
        assert "main/bot1" in listed.stdout and "main/sub1/bot2" in listed.stdout
        assert "grid" in listed.stdout
    master = kv_get(bob, "main/bot1")["data"]["data"]
    assert {k: master[k] for k in ("api_key", "api_secret", "passphrase", "api_version")} == {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "passphrase": API_PASSPHRASE,
        "api_version": 3,
    }
    sub = kv_get(alice, "main/sub1/bot2")["data"]["data"]
    assert (sub["api_key"], sub["api_secret"], sub["passphrase"]) == other
    # The shared registry names the same key ids as the secrets carry.
    key = Home.load(alice.root).registry().key(KeyRef("main", "sub1", "bot2"))
    assert key is not None and key.has_secret and sub["kutui_key_id"] == key.id
    secrets_ = [API_KEY, API_SECRET, API_PASSPHRASE, *other, alice.token]
    assert scan_for(alice.root, secrets_) == [] and scan_for(bob.root, secrets_) == []


def test_twenty_concurrent_adds_from_two_homes_lose_nothing(make_home: MakeHome) -> None:
    homes = [make_home("alice"), make_home("bob")]
    running = []
    for n in range(20):
        home = homes[n % 2]
        proc = subprocess.Popen(
            [
                __import__("sys").executable,
                "-m",
                "kutui",
                "key",
                "add",
                f"acct{n % 3}/bot{n}",
                "--note",
                f"from {home.root.name}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=home.env(),
        )
        running.append(proc)
    for n, proc in enumerate(running):
        _, err = proc.communicate(stdin_for(creds(n)), timeout=180)
        assert proc.returncode == 0, err
    for home in homes:
        registry = Home.load(home.root).registry()
        assert sorted(str(k.ref) for k in registry.keys) == sorted(
            f"acct{n % 3}/bot{n}" for n in range(20)
        )
        assert all(k.has_secret for k in registry.keys)
        vault = Home.load(home.root).open_vault()
        for key in registry.keys:
            n = int(key.ref.label.removeprefix("bot"))
            cred = vault.data.get(key.id)
            assert cred is not None and cred.api_key.reveal() == creds(n)[0]
    for n in range(20):
        data = kv_get(homes[0], f"acct{n % 3}/bot{n}")["data"]["data"]
        assert data["api_secret"] == creds(n)[1]
    values = [v for n in range(20) for v in creds(n)]
    assert scan_for(homes[0].root, values) == [] and scan_for(homes[1].root, values) == []


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    account=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,20}", fullmatch=True),
    label=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,20}", fullmatch=True),
)
def test_any_valid_name_lands_at_its_documented_path(
    make_home: MakeHome, run: Runner, account: str, label: str
) -> None:
    home = make_home("names")
    added = run(home, "key", "add", f"{account}/{label}", stdin=stdin_for(creds(1)))
    assert added.code == 0, added.err
    data = kv_get(home, f"{account}/{label}")["data"]["data"]
    assert data["api_key"] == creds(1)[0]
    removed = run(home, "key", "remove", f"{account}/{label}", "--yes")
    assert removed.code == 0, removed.err
    gone = home.server.bao("kv", "get", f"secret/{home.prefix}/{account}/{label}")
    assert gone.returncode != 0


def test_renaming_an_account_moves_its_keys_secrets(make_home: MakeHome) -> None:
    from kutui.model import Registry

    home = make_home("rename")
    added = home.kutui("key", "add", "main/sub1/bot1", stdin=stdin_for(creds(3)))
    assert added.returncode == 0, added.stderr
    loaded = Home.load(home.root)

    def rename(registry: Registry) -> None:  # what the TUI's rename does
        account = registry.account("main")
        assert account is not None
        account.name = "prod"
        for key in registry.keys:
            key.ref = KeyRef("prod", key.ref.sub, key.ref.label)

    loaded.update_registry(rename)
    moved = kv_get(home, "prod/sub1/bot1")["data"]["data"]
    assert moved["api_key"] == creds(3)[0]
    gone = home.server.bao("kv", "get", f"secret/{home.prefix}/main/sub1/bot1")
    assert gone.returncode != 0
    listed = home.kutui("key", "list")
    assert "prod/sub1/bot1" in listed.stdout
    key = loaded.registry().key(KeyRef("prod", "sub1", "bot1"))
    assert key is not None
    cred = loaded.open_vault().data.get(key.id)
    assert cred is not None and cred.api_secret.reveal() == creds(3)[1]
    loaded.close()


def test_a_large_registry_is_stored_compressed_and_reads_back(make_home: MakeHome) -> None:
    from kutui.model import Account, ApiKey, Registry
    from kutui.store.openbao import registry as shared_registry

    home = Home.load(make_home("large").root)

    def fill(registry: Registry) -> None:
        registry.accounts.append(Account("main"))
        registry.keys += [ApiKey(f"id{n:05d}", KeyRef("main", "", f"bot{n}")) for n in range(3000)]

    home.update_registry(fill)
    stored = home.shared().conn.read(shared_registry.SharedRegistry(home.shared().conn).path)
    assert stored is not None and "registry_zlib" in stored.data
    assert len(str(stored.data["registry_zlib"])) < shared_registry.PLAIN_MAX * 4
    keys = home.registry().keys
    assert len(keys) == 3000 and keys[-1].ref == KeyRef("main", "", "bot2999")
    home.close()


def test_init_store_openbao_never_rewrites_a_local_homes_config(
    make_home: MakeHome, tmp_path: Path
) -> None:
    template = make_home("template")
    local = BaoHome(tmp_path / "local", template.server, template.prefix, template.token)
    local.root.mkdir(mode=0o700)
    config = local.root / "config.toml"
    config.write_text('[vault]\nunlock = "passphrase"\n')
    config.chmod(0o600)
    result = local.kutui("init", "--store", "openbao", "--openbao-addr", local.server.addr)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "kutui migrate --to openbao" in lines[0]
    assert config.read_text() == '[vault]\nunlock = "passphrase"\n'
