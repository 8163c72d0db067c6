"""How kutui authenticates to OpenBao, as its users expect: ``$BAO_TOKEN``, a token file
(``store.token_file`` or ``~/.vault-token``), AppRole with the secret id in a file; and TLS,
verified, with a CA file option."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.openbao.conftest import MakeHome, Runner
from tests.openbao.server import DevServer, start_dev_server
from tests.openbao.test_errors import child_token, one_line
from tests.openbao.test_policies import policy
from tests.openbao.test_shared import creds, scan_for, stdin_for


def private_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def test_token_from_a_file_and_from_vault_token(
    bao_server: DevServer,
    make_home: MakeHome,
    run: Runner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = child_token(bao_server, "root")
    token_file = private_file(tmp_path / "bao-token", token)
    home = make_home("filetoken", extra=f'token_file = "{token_file}"\n')
    monkeypatch.delenv("BAO_TOKEN")
    # run() sets $BAO_TOKEN; here the file must be the only source.
    from kutui.cli import main

    def bare(*argv: str) -> int:
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO(stdin_for(creds(1))))
        return main(["--home", str(home.root), *argv])

    assert bare("key", "add", "main/bot1") == 0
    (home.root / "config.toml").write_text(
        (home.root / "config.toml").read_text().replace(f'token_file = "{token_file}"\n', "")
    )
    private_file(tmp_path / ".vault-token", token)  # $HOME is tmp_path in these tests
    assert bare("key", "list") == 0
    (tmp_path / ".vault-token").unlink()
    assert bare("key", "list") == 2
    assert scan_for(home.root, [token]) == []


def test_no_token_at_all_is_one_line(
    make_home: MakeHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kutui.cli import main

    home = make_home("notoken")
    monkeypatch.delenv("BAO_TOKEN")
    assert main(["--home", str(home.root), "key", "list"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "no token" in line and "BAO_TOKEN" in line


def test_approle_with_the_secret_id_in_a_file(
    own_server: DevServer, make_home: MakeHome, run: Runner, prefix: str, tmp_path: Path
) -> None:
    bao = own_server.bao
    assert bao("auth", "enable", "approle").returncode == 0
    written = bao("policy", "write", "kutui-operator", "-", stdin=policy("kutui operator", prefix))
    assert written.returncode == 0, written.stderr
    role = "auth/approle/role/bot-host"
    assert bao("write", role, "token_policies=kutui-operator", "token_ttl=10m").returncode == 0
    role_id = json.loads(bao("read", "-format=json", f"{role}/role-id").stdout)["data"]["role_id"]
    made = bao("write", "-format=json", "-f", f"{role}/secret-id")
    secret_id = json.loads(made.stdout)["data"]["secret_id"]
    secret_file = private_file(tmp_path / "secret-id", secret_id)
    # $BAO_TOKEN is set to something that would be refused: AppRole, configured, comes first.
    home = make_home(
        "approle",
        server=own_server,
        extra=f'role_id = "{role_id}"\nsecret_id_file = "{secret_file}"\n',
        token="not-a-token",
    )
    added = run(home, "key", "add", "main/bot1", stdin=stdin_for(creds(1)))
    assert added.code == 0, added.err
    got = bao("kv", "get", "-field=api_key", f"secret/{prefix}/main/bot1")
    assert got.stdout.strip() == creds(1)[0]
    assert scan_for(home.root, [secret_id]) == []


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[DevServer]:
    try:
        server = start_dev_server(tmp_path / "tls-openbao", tls=True)
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"OpenBao dev server (TLS) could not start in CI: {exc}")
        pytest.skip(f"OpenBao dev server (TLS) could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


def test_tls_is_verified_and_a_ca_file_makes_it_trusted(
    tls_server: DevServer, make_home: MakeHome, run: Runner
) -> None:
    untrusted = make_home("untrusted", server=tls_server)
    refused = run(untrusted, "key", "list")
    assert refused.code == 2
    assert "the TLS certificate is not trusted" in one_line(refused.err)
    trusted = make_home("trusted", server=tls_server, extra=f'ca_file = "{tls_server.ca_file}"\n')
    added = run(trusted, "key", "add", "main/bot1", stdin=stdin_for(creds(1)))
    assert added.code == 0, added.err
    got = tls_server.bao("kv", "get", "-field=api_key", f"secret/{trusted.prefix}/main/bot1")
    assert got.stdout.strip() == creds(1)[0]
