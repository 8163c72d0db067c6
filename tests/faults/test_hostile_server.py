"""A hostile KuCoin (tests/hostile.py, a real HTTP server on 127.0.0.1): malformed answers, huge
and dripping bodies, and escape sequences aimed at the user's terminal.

Every case ends as one key's status with a clean, short message; a bulk check goes on for the other
keys (exit 1, never 70); nothing kutui prints or stores holds an ESC byte; no request outlives its
deadline, whatever the server's pace.
"""

from __future__ import annotations

import asyncio
import resource
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kutui.checks.runner import CheckTarget
from kutui.cli import main
from kutui.kucoin.client import MAX_BODY_BYTES, KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.model import Credential, KeyRef, Status
from kutui.secret import Secret
from kutui.store.registry_export import export_registry, import_registry
from kutui.text import MESSAGE_LIMIT
from tests.checks.simfleet import FleetKey
from tests.checks.simhome import SimHome, make_home
from tests.hostile import HostileServer, Reply, envelope, error_envelope, key_info

SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
PASS = "Ab12345678"
#: OSC 52 (write the clipboard), OSC 0 (window title), a screen clear and a fake colour.
ESCAPES = r"\u001b]52;c;ZXZpbA==\u0007\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\u009b0m"


def _key(n: int) -> str:
    return f"{n:024x}"


def _cred(n: int) -> Credential:
    return Credential(Secret(_key(n)), Secret(SECRET), Secret(PASS), 3)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def _info(server: HostileServer, reply: Reply, *, timeout: float = 2.0) -> KeyInfoOutcome:
    server.by_key[_key(1)] = reply

    async def go() -> KeyInfoOutcome:
        client = KucoinClient(server.url, timeout=timeout, max_retries=0)
        try:
            return await client.api_key_info(_cred(1))
        except KucoinApiError as err:
            return err
        finally:
            await client.aclose()

    return asyncio.run(go())


KeyInfoOutcome = object

DEEP = b'{"code": "200000", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        key_info(_key(1), createdAt="1" * 40),
        key_info(_key(1), uid="1e999"),
        key_info(_key(1), uid="-5"),
        key_info(_key(1), uid='["a"]'),
        key_info(_key(1), remark="{}"),
        key_info(_key(1), apiKey='"\\ud800abc"'),
        key_info(_key(1), apiVersion="NaN"),
        key_info(_key(1), isMaster='"maybe"'),
        envelope("[1, 2]"),
        b"<html><body>Welcome to nginx</body></html>",
        b'{"code": "200000", "msg": "\xff\xfe"}',
    ],
    ids=[
        "deep-json",
        "created-40-digits",
        "uid-1e999",
        "uid-negative",
        "uid-list",
        "remark-object",
        "apikey-surrogate",
        "nan",
        "is-master-word",
        "data-list",
        "html-200",
        "not-utf8",
    ],
)
def test_a_malformed_answer_is_unreachable_with_a_clear_message(
    server: HostileServer, body: bytes
) -> None:
    outcome = _info(server, Reply(body=body))
    assert isinstance(outcome, KucoinApiError), outcome
    assert outcome.status == Status.UNREACHABLE.value
    assert "malformed" in outcome.message or "not KuCoin JSON" in outcome.message


@pytest.mark.parametrize(
    ("raw", "master"),
    [("true", True), ("false", False), ('"false"', False), ('"True"', True), ("null", False)],
)
def test_is_master_reads_the_flag_not_its_truthiness(
    server: HostileServer, raw: str, master: bool
) -> None:
    # A sub-account key answered as "false" must not look like a master key: rotation picks
    # the flow (API or guided) from this flag (kutui/rotation/sub_flow.py).
    outcome = _info(server, Reply(body=key_info(_key(1), isMaster=raw)))
    assert not isinstance(outcome, KucoinApiError), outcome
    assert outcome.is_master is master  # type: ignore[attr-defined]


def test_outside_text_is_cleaned_and_lone_surrogates_replaced(server: HostileServer) -> None:
    outcome = _info(
        server,
        Reply(
            body=key_info(
                _key(1),
                remark=f'"bot\\ud800{ESCAPES}"',
                subName='"sub\\u001b[2J"',
                permission='"General,\\u001b]0;x\\u0007Spot"',
                ipWhitelist='"1.2.**.4\\u0000\\u007f"',
            )
        ),
    )
    assert not isinstance(outcome, KucoinApiError)
    info = outcome
    for text in (info.remark, info.sub_name, info.ip_whitelist, *info.permissions):  # type: ignore[attr-defined]
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), repr(text)
        text.encode("utf-8")  # no lone surrogate left
    assert info.remark.startswith("bot\ufffd")  # type: ignore[attr-defined]
    assert info.permissions == ("General", "Spot")  # type: ignore[attr-defined]


def test_kucoin_msg_is_cleaned_and_cut(server: HostileServer) -> None:
    outcome = _info(server, Reply(body=error_envelope("400004", f'"{ESCAPES}{"x" * 500_000}"')))
    assert isinstance(outcome, KucoinApiError)
    assert outcome.status == Status.BAD_PASSPHRASE.value
    assert "\x1b" not in outcome.message and "\x9b" not in outcome.message
    assert len(outcome.kucoin_message) <= MESSAGE_LIMIT


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"x" * 65536, repeat=3000),  # ~190 MiB, streamed without a length
        Reply(body=b"{}", declared_length=3 * 1024**3),  # "3 GB" declared
    ],
    ids=["streamed-190MiB", "declared-3GB"],
)
def test_a_huge_body_is_refused_while_read(server: HostileServer, reply: Reply) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcome = _info(server, reply, timeout=5.0)
    assert time.monotonic() - started < 8.0  # the RSS below is the real proof
    assert isinstance(outcome, KucoinApiError)
    assert outcome.status == Status.UNREACHABLE.value
    assert f"larger than {MAX_BODY_BYTES // 1024} KiB" in outcome.message
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 64 * 1024  # nowhere near the body's size


def test_a_drip_cannot_outlast_the_deadline(server: HostileServer) -> None:
    # One byte every 0.2 s never trips a 0.5 s per-read timeout; the body would take 16 s.
    started = time.monotonic()
    outcome = _info(server, Reply(body=key_info(_key(1))[:80], drip=0.2), timeout=0.5)
    assert time.monotonic() - started < 5.0
    assert isinstance(outcome, KucoinApiError)
    assert outcome.status == Status.UNREACHABLE.value
    assert "within 0.5 s" in outcome.message


# --------------------------------------------------------------------------- the CLI

#: key number -> (answer, status kutui must report).
FLEET: dict[int, tuple[Reply, Status]] = {
    1: (Reply(body=key_info(_key(1))), Status.OK),
    2: (Reply(body=DEEP), Status.UNREACHABLE),
    3: (Reply(body=key_info(_key(3), createdAt="9" * 40)), Status.UNREACHABLE),
    4: (Reply(body=key_info(_key(4), uid="1e999")), Status.UNREACHABLE),
    5: (Reply(body=b"<html>maintenance</html>"), Status.UNREACHABLE),
    6: (Reply(body=key_info(_key(6), remark='"\\ud800\\udfff"')), Status.OK),
    7: (Reply(body=error_envelope("400004", f'"{ESCAPES}"')), Status.BAD_PASSPHRASE),
    8: (Reply(body=key_info(_key(8), remark=f'"{ESCAPES}"')), Status.OK),
    9: (Reply(body=key_info(_key(9))[:60], drip=0.25), Status.UNREACHABLE),  # 15 s whole
    10: (Reply(body=error_envelope("400004", f'"{"m" * 200_000}"')), Status.BAD_PASSPHRASE),
}


def _registry_text(sh: SimHome) -> str:
    """The registry as accounts.toml's text (``kutui export``)."""
    with sh.home.store() as store:
        return export_registry(store)


def _home(root: Path, url: str, keys: list[int]) -> SimHome:
    fleet = [
        FleetKey(
            CheckTarget(f"id{n}", KeyRef("main", "", f"k{n}"), url, _cred(n)), Status.OK, None, 0
        )
        for n in keys
    ]
    sh = make_home(root, fleet, api_url=url)
    (root / "config.toml").write_text("[checks]\ntimeout_seconds = 2.0\nretries = 0\n")
    (root / "config.toml").chmod(0o600)
    return sh


def _no_escape(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, repr(text[:200])


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_bulk_check_survives_every_bad_answer_and_prints_no_escape(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    import json

    for n, (reply, _status) in FLEET.items():
        server.by_key[_key(n)] = reply
    sh = _home(tmp_path / "home", server.url, list(FLEET))
    started = time.monotonic()
    code = main(sh.argv("check", "--all", *(["--json"] if as_json else [])))
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 1, err
    assert elapsed < 14
    _no_escape(out + err)
    assert "Traceback" not in err
    registry_text = _registry_text(sh)
    _no_escape(registry_text)
    assert len(registry_text) < 20_000  # a 200,000-character msg is not stored whole
    checks = {
        key["ref"]: key["last_check"]
        for key in tomllib.loads(registry_text)["keys"]
        if "last_check" in key
    }
    for n, (_reply, status) in FLEET.items():
        assert checks[f"main/k{n}"]["status"] == status.value, (n, checks[f"main/k{n}"])
        assert len(checks[f"main/k{n}"].get("message", "")) <= MESSAGE_LIMIT
    if as_json:
        report = json.loads(out)
        assert {k["ref"]: k["status"] for k in report["keys"]} == {
            f"main/k{n}": s.value for n, (_r, s) in FLEET.items()
        }


def test_account_list_prints_no_escape_from_an_edited_registry(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sh = _home(tmp_path / "home", server.url, [1])
    text = _registry_text(sh).replace(
        'name = "main",', 'name = "main", remark = "x\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J",', 1
    )
    with sh.home.store() as store:  # as if edited by hand and imported (kutui import-registry)
        import_registry(store, text)
    assert main(["--home", str(sh.root), "account", "list"]) == 0
    out, err = capsys.readouterr()
    assert "main" in out
    _no_escape(out + err)


def test_kutui_import_does_not_hang_on_a_drip(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.by_path["/api/v2/sub/user"] = Reply(body=envelope('{"items": []}'), drip=0.5)
    sh = _home(tmp_path / "home", server.url, [1])
    started = time.monotonic()
    code = main(sh.argv("import", "main"))
    elapsed = time.monotonic() - started
    _out, err = capsys.readouterr()
    assert code == 1, err
    assert elapsed < 12  # 2 s per attempt, 3 attempts, backoff; the drip takes 25 s
    assert "within 2 s" in err


def test_a_deeply_nested_history_stops_check_with_one_line(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.by_key[_key(1)] = Reply(body=key_info(_key(1)))
    sh = _home(tmp_path / "home", server.url, [1])
    # An old home (accounts.toml + history.json): the migration reads the history first.
    sh.home.paths.accounts.write_text(_registry_text(sh))
    sh.home.close()
    for path in sh.root.glob("kutui.db*"):
        path.unlink()
    history = sh.home.paths.history
    history.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert main(sh.argv("check", "--all")) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert str(history) in lines[-1] and "nested too deeply" in lines[-1]


def test_import_keeps_only_sub_accounts_with_usable_names(
    server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ['"good1"', '"fake\\n"', '"x\\u001b]0;pwned\\u0007"', '"\\ud800"', f'"{"a" * 100_000}"']
    items = ", ".join(
        f'{{"uid": {2000 + i}, "subName": {name}, "remarks": "r\\u001b[2J"}}'
        for i, name in enumerate(names)
    )
    server.by_path["/api/v2/sub/user"] = Reply(
        body=envelope(f'{{"items": [{items}], "totalPage": 1}}')
    )
    server.by_path["/api/v1/sub/api-key"] = Reply(body=envelope("[]"))
    sh = _home(tmp_path / "home", server.url, [1])
    code = main(sh.argv("import", "main"))
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    _no_escape(out + err)
    assert len(out + err) < 5_000
    registry = tomllib.loads(_registry_text(sh))
    (account,) = registry["accounts"]
    assert [s["name"] for s in account["subaccounts"]] == ["good1"]
    assert "\x1b" not in account["subaccounts"][0].get("remark", "")
