"""Everything that enters kutui is validated and cleaned where it enters: credentials (stdin,
import files, KuCoin's create answer), names, API URLs, special files, history.json.

Refusals are one line naming the field (and the file and entry), exit 2, nothing stored; a value
that gets past validation (an older vault) and cannot be sent is one key's status, with no trace
of the value in any escaped form.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kutui.cli import main
from kutui.errors import RegistryError
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.model import Credential, KeyRef, Status, api_url_problem, credential_problem, valid_name
from kutui.secret import Secret
from kutui.store.history import read_history
from kutui.store.vault import Vault
from tests.faults.conftest import KEY, PASS, SECRET, VAULT_PW
from tests.faults.disk import changes, snapshot
from tests.faults.leakscan import LeakScanner
from tests.hostile import HostileServer, Reply, envelope, key_info


def kutui(home: Path, *argv: str, stdin: io.TextIOBase | None = None) -> int:
    old = sys.stdin
    sys.stdin = stdin if stdin is not None else io.StringIO("")
    try:
        return main(["--home", str(home), "--passphrase-file", str(home.parent / "pw"), *argv])
    finally:
        sys.stdin = old


def _surrogateescape_stdin(data: bytes) -> io.TextIOWrapper:
    """What Python gives a program in a C/POSIX locale: bad bytes become lone surrogates."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        (f"{KEY}\n{SECRET}\xe9\n{PASS}\n".encode("latin-1"), "line 2 (the API secret)"),
        (f"{KEY}\n{SECRET}\n{PASS}\xe9\n".encode("latin-1"), "line 3 (the API passphrase)"),
        (f"{KEY}\n{SECRET}\x1b[2J\n{PASS}\n".encode(), "API secret contains a control"),
        (f"{KEY}\n{SECRET}\n{PASS}\x01\n".encode(), "API passphrase contains a control"),
        (f"{KEY}\n{SECRET}\n{PASS}\u00e9\n".encode(), "printable ASCII"),
        (f"{KEY}\n{SECRET} {SECRET}\n{PASS}\n".encode(), "API secret must not contain spaces"),
    ],
    ids=["secret-latin1", "pass-latin1", "secret-escape", "pass-control", "pass-ascii", "space"],
)
def test_key_add_refuses_bad_text_before_storing_anything(
    home: Path, capsys: pytest.CaptureFixture[str], stdin: bytes, words: str
) -> None:
    before = snapshot(home)
    code = kutui(home, "key", "add", "main/x", stdin=_surrogateescape_stdin(stdin))
    out, err = capsys.readouterr()
    assert code == 2
    assert words in _one_line(err)
    assert SECRET not in out + err and PASS not in out + err
    assert [c for c in changes(before, snapshot(home)) if c != "state.toml"] == []
    # The vault still opens and holds nothing.
    assert Vault.open(home / "vault.kv1", passphrase=Secret(VAULT_PW)).data.key_ids() == []


def test_a_lone_surrogate_from_a_text_stdin_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = kutui(
        home, "key", "add", "main/x", stdin=io.StringIO(f"{KEY}\n{SECRET}\udce9\n{PASS}\n")
    )
    assert code == 2
    assert "API secret is not valid UTF-8 text" in _one_line(capsys.readouterr().err)


def test_a_name_cannot_end_in_a_newline(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not valid_name("fake\n")
    with pytest.raises(ValueError):
        KeyRef.parse("fake\n/x")
    code = kutui(home, "key", "add", "fake\n/x", stdin=io.StringIO(f"{KEY}\n{SECRET}\n{PASS}\n"))
    assert code == 2
    assert (
        not (home / "accounts.toml").exists() or "fake" not in (home / "accounts.toml").read_text()
    )


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("api_secret", "\\ud800", "api_secret is not valid UTF-8 text"),
        ("passphrase", "Ab12345678\\u001b]0;x\\u0007", "passphrase contains a control"),
        ("ref", "main/x\\u0000", "ref contains a control"),
    ],
)
def test_import_file_with_bad_text_is_refused_whole(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: str,
    words: str,
) -> None:  # fmt: skip
    good = {"ref": "main/a", "api_key": KEY, "api_secret": SECRET, "passphrase": PASS}
    bad = {"ref": "main/b", "api_key": "a" * 24, "api_secret": SECRET, "passphrase": PASS}
    members = [f'"{k}": "{value}"' if k == field else f'"{k}": "{v}"' for k, v in bad.items()]
    text = json.dumps([good])[:-1] + ", {" + ", ".join(members) + "}]"
    path = tmp_path / "keys.json"
    path.write_text(text)
    before = snapshot(home)
    code = kutui(home, "key", "import", str(path))
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert str(path) in line and "entry 2" in line and words in line
    assert [c for c in changes(before, snapshot(home)) if c != "state.toml"] == []


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory"])
def test_import_of_a_special_file_is_refused_at_once(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "keys.csv"
        os.mkfifo(path)
    else:
        path = tmp_path / "keys.d"
        path.mkdir()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(kutui(home, "key", "import", str(path))))
    started = time.monotonic()
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "kutui key import hung"
    assert time.monotonic() - started < 5
    assert result == [2]
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line
    assert "regular file" in line or "directory" in line


@pytest.mark.parametrize(
    ("secret", "passphrase", "field"),
    [
        (SECRET, "Ab12345\udcff", "API passphrase"),
        (SECRET + "\x7f", PASS, "API secret"),
        ("", PASS, "API secret"),
        ("s" * 129, PASS, "API secret"),
        (SECRET, "Ab 1234567", "API passphrase"),
    ],
)
def test_credential_problem_names_the_field_never_the_value(
    secret: str, passphrase: str, field: str
) -> None:
    problem = credential_problem(KEY, secret, passphrase)
    assert problem is not None and field in problem
    assert (secret or "\0") not in problem and passphrase not in problem


# --------------------------------------------------------------------------- API URLs


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.kucoin.com", True),
        ("https://api.kucoin.com/", True),
        ("http://127.0.0.1:8600", True),
        ("http://127.8.0.1", True),
        ("http://[::1]:8600", True),
        ("http://localhost:8600", True),
        ("http://api.kucoin.com", False),
        ("http://10.0.0.5:8600", False),
        ("https://api.kucoin.com/api", False),
        ("https://api.kucoin.com?x=1", False),
        ("https://api.kucoin.com#x", False),
        ("https://user@api.kucoin.com", False),
        ("https://api.kucoin.com:0", False),
        ("https://api.kucoin.com\n", False),
        ("ftp://api.kucoin.com", False),
        ("", False),
    ],
)
def test_api_url_rule(url: str, ok: bool) -> None:
    assert (api_url_problem(url) is None) is ok


@pytest.mark.parametrize(
    "argv",
    [
        ["account", "add", "main", "--api-url", "http://api.example.com"],
        ["check", "--all", "--api-url", "http://api.example.com"],
        ["check", "--all", "--api-url", "https://api.kucoin.com/api"],
    ],
    ids=["account-add", "check", "check-path"],
)
def test_plain_http_to_a_remote_host_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert kutui(home, *argv) == 2
    assert "--api-url" in _one_line(capsys.readouterr().err)


def test_config_refuses_plain_http_to_a_remote_host(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "config.toml").write_text('[kucoin]\napi_url = "http://api.kucoin.com"\n')
    assert kutui(home, "account", "list") == 2
    line = _one_line(capsys.readouterr().err)
    assert "config.toml: kucoin.api_url: uses plain http to a remote host" in line


# --------------------------------------------------------------------------- history.json


def test_a_deeply_nested_history_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(RegistryError, match="nested too deeply") as caught:
        read_history(path)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------- KuCoin's side


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


@pytest.mark.parametrize("passphrase", ["Ab1234567\x00", "Ab12345\u00e967", "Ab1234567\n"])
def test_a_v1_passphrase_that_cannot_be_sent_is_one_keys_status(
    server: HostileServer, passphrase: str
) -> None:
    server.by_key[KEY] = Reply(body=key_info(KEY))
    cred = Credential(Secret(KEY), Secret(SECRET), Secret(passphrase), 1)

    async def go() -> KucoinApiError:
        client = KucoinClient(server.url, timeout=2.0, max_retries=0)
        try:
            with pytest.raises(KucoinApiError) as caught:
                await client.api_key_info(cred)
            return caught.value
        finally:
            await client.aclose()

    error = asyncio.run(go())
    assert error.status == Status.BAD_PASSPHRASE.value
    assert "cannot be sent" in error.message
    scanner = LeakScanner({"passphrase": passphrase})
    assert scanner.scan_text(str(error) + repr(error) + error.kucoin_message, "error") == []


@pytest.mark.parametrize(
    "secret_json", ['"\\ud800-5c39-4aaa"', '"f03a\\u001b]52;c;eA==\\u0007"', '""', "12"]
)
def test_a_created_key_whose_secret_is_unusable_is_refused(
    server: HostileServer, secret_json: str
) -> None:
    server.by_path["/api/v1/sub/api-key"] = Reply(
        body=envelope(f'{{"apiKey": "{KEY}", "apiSecret": {secret_json}, "subName": "bot1"}}')
    )
    master = Credential(Secret("a" * 24), Secret(SECRET), Secret(PASS), 3)

    async def go() -> KucoinApiError:
        client = KucoinClient(server.url, timeout=2.0, max_retries=0)
        try:
            with pytest.raises(KucoinApiError) as caught:
                await client.create_sub_api_key(
                    master, sub_name="bot1", passphrase=Secret(PASS), remark="kutui-r1"
                )
            return caught.value
        finally:
            await client.aclose()

    error = asyncio.run(go())
    assert "malformed" in error.message
    assert "\x1b" not in error.message and "\ud800" not in error.message
