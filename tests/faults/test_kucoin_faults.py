"""KuCoin inputs and answers not covered by tests/kucoin (docs/security.md, "What the tests try",
D).

Inputs: pasted credentials through ``kutui key add`` (whitespace, CR, zero-width characters: stored
clean; bad shapes: one line naming the field, nothing on disk changed); request parameters
(remark > 24, > 20 IPs, duplicate and IPv6 addresses). Answers: 400001, 400010, a 200 carrying
"Exceeded the access frequency", 5xx, a 10 MB body, ``gw-ratelimit-remaining: 0``, a local clock
6 s off: the right status and a message without any credential.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kutui.cli import main
from kutui.errors import KucoinError, UsageError
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.simulator import Simulator
from kutui.model import Credential, Status
from kutui.secret import Secret
from kutui.store.vault import Vault
from tests.faults.conftest import KEY, PASS, SECRET, VAULT_PW
from tests.faults.disk import changes, snapshot

ZW = "\u200b"


def key_add(home: Path, stdin: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(
            ["--home", str(home), "--passphrase-file", str(home.parent / "pw"),
             "key", "add", "main/bot"]
        )  # fmt: skip
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("key", "secret", "passphrase"),
    [
        (f"  {KEY}  ", f"\t{SECRET} ", f" {PASS}"),
        (f"{KEY}\r", f"{SECRET}\r", f"{PASS}\r"),
        (f"{ZW}{KEY}{ZW}", f"{SECRET}\u2060", f"\ufeff{PASS}"),
        (f"{KEY[:10]}{ZW}{KEY[10:]}", f"\u00ad{SECRET}", f"{PASS}\u200d"),
    ],
    ids=["spaces-tabs", "crlf", "zero-width-around", "zero-width-inside"],
)
def test_pasted_credentials_are_stored_clean(
    home: Path, capsys: pytest.CaptureFixture[str], key: str, secret: str, passphrase: str
) -> None:
    code, out, err = key_add(home, f"{key}\n{secret}\n{passphrase}\n", capsys)
    assert code == 0, err
    vault = Vault.open(home / "vault.kv1", passphrase=Secret(VAULT_PW))
    (key_id,) = vault.data.key_ids()
    cred = vault.data.get(key_id)
    assert cred is not None
    assert (cred.api_key, cred.api_secret, cred.passphrase) == (
        Secret(KEY),
        Secret(SECRET),
        Secret(PASS),
    )
    assert main(["--home", str(home), "key", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert f'"{KEY[-4:]}"' in listed and KEY not in listed + out + err


@pytest.mark.parametrize(
    ("key", "passphrase", "words"),
    [
        (KEY[:-1], PASS, "API key"),
        (KEY.upper(), PASS, "API key"),
        ("g" * 24, PASS, "API key"),
        (KEY, "Ab1234", "7 to 32"),
        (KEY, "A" * 33, "7 to 32"),
        (KEY, "Ab12 345678", "spaces"),
        (KEY, "Cafe\u0301-12345", "NFC"),
    ],
    ids=["23-hex", "upper", "not-hex", "pass-6", "pass-33", "pass-space", "pass-nfd"],
)
def test_bad_credential_shapes_are_one_line_and_change_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], key: str, passphrase: str, words: str
) -> None:
    before = snapshot(home)
    code, out, err = key_add(home, f"{key}\n{SECRET}\n{passphrase}\n", capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], err
    assert "Traceback" not in err
    for value in (key, passphrase, SECRET):
        assert value not in out + err
    # state.toml records the vault generation seen at unlock (rollback detection), not user data.
    assert [c for c in changes(before, snapshot(home)) if c != "state.toml"] == []


def test_a_secret_that_is_not_uuid_shaped_is_a_warning_only(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = key_add(home, f"{KEY}\nsecret-in-an-odd-shape-0001\n{PASS}\n", capsys)
    assert code == 0
    assert "does not look like a KuCoin secret" in err
    assert "secret-in-an-odd-shape-0001" not in err


# --------------------------------------------------------------------------- requests


@pytest.fixture
def sim() -> Simulator:
    simulator = Simulator(seed=5)
    simulator.add_user(1001)
    simulator.add_user(2001, sub_name="bot1", master_uid=1001)
    return simulator


def _master(sim: Simulator) -> Credential:
    key = sim.add_key(1001, permission="General", api_key=KEY, api_secret=SECRET, passphrase=PASS)
    return key.credential()


async def test_a_remark_over_24_characters_is_refused_before_sending(sim: Simulator) -> None:
    client = KucoinClient("https://api.kucoin.com", transport=sim.transport())
    cred = _master(sim)
    with pytest.raises(UsageError, match="remark must be 1-24"):
        await client.create_sub_api_key(
            cred, sub_name="bot1", passphrase=Secret("NewPass-123"), remark="r" * 25
        )
    await client.aclose()
    assert sim.counters.requests == 0


@pytest.mark.parametrize(
    "whitelist",
    [
        ",".join(f"10.0.0.{n}" for n in range(1, 22)),  # 21 addresses
        "10.0.0.1,10.0.0.1",
        "2001:db8::1",
    ],
    ids=["21-ips", "duplicates", "ipv6"],
)
async def test_whitelists_kucoin_may_refuse_leave_no_half_created_key(
    sim: Simulator, whitelist: str
) -> None:
    client = KucoinClient("https://api.kucoin.com", transport=sim.transport(), max_retries=0)
    cred = _master(sim)
    keys_before = len(sim.state.keys)
    try:
        created = await client.create_sub_api_key(
            cred,
            sub_name="bot1",
            passphrase=Secret("NewPass-123"),
            remark="rot",
            ip_whitelist=whitelist,
        )
    except (KucoinError, UsageError) as exc:
        assert len(sim.state.keys) == keys_before
        assert "NewPass-123" not in str(exc) and PASS not in str(exc)
    else:  # accepted: then exactly one key exists, bound to the addresses asked for
        assert len(sim.state.keys) == keys_before + 1
        assert created.api_key.reveal() not in repr(created)
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- answers


class Canned(httpx.AsyncBaseTransport):
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.answer(request)


def _body(code: str, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


async def _no_sleep(seconds: float) -> None:
    return None


async def _status(answer: Callable[[httpx.Request], httpx.Response]) -> KucoinError:
    client = KucoinClient(
        "https://api.kucoin.com",
        transport=Canned(answer),
        max_retries=1,
        auto_sync=False,
        sleep=_no_sleep,
        max_rate_wait=0.1,
    )
    cred = Credential(Secret(KEY), Secret(SECRET), Secret(PASS))
    try:
        with pytest.raises(KucoinError) as caught:
            await client.api_key_info(cred)
    finally:
        await client.aclose()
    err = caught.value
    for value in (KEY, SECRET, PASS):
        assert value not in str(err) and value not in repr(err)
    return err


@pytest.mark.parametrize(
    ("http_status", "body", "status"),
    [
        (401, _body("400001", "Please check the header of your request for KC-API-KEY"),
         Status.BAD_SECRET),  # a header is missing: kutui's signing, per diagnosis.py
        (403, _body("400010", "UnAuth"), Status.PERMISSION_DENIED),
        (200, _body("429000", "Exceeded the access frequency"), Status.RATE_LIMITED),
        (429, _body("429000", "Exceeded the access frequency"), Status.RATE_LIMITED),
        (500, _body("500000", "Internal Server Error"), Status.UNREACHABLE),
        (502, b"<html><body>Bad Gateway</body></html>", Status.UNREACHABLE),
        (504, b"", Status.UNREACHABLE),
        (200, b"not json at all", Status.UNREACHABLE),
        (200, b'{"code":"200000","data":{"apiKey":"' + KEY.encode(), Status.UNREACHABLE),
    ],
    ids=["400001", "400010", "200-frequency", "429", "500-json", "502-html", "504-empty",
         "non-json", "truncated"],
)  # fmt: skip
async def test_failure_answers_give_the_right_status(
    http_status: int, body: bytes, status: Status
) -> None:
    err = await _status(lambda r: httpx.Response(http_status, content=body))
    assert err.status == status.value
    assert err.hint


async def test_a_10_mb_body_is_unreachable_without_echoing_it() -> None:
    huge = b"<html>" + b"A" * (10 * 1024 * 1024) + b"</html>"
    err = await _status(lambda r: httpx.Response(502, content=huge))
    assert err.status == Status.UNREACHABLE.value
    assert len(str(err)) < 1000


async def test_ratelimit_remaining_zero_is_remembered_for_the_uid() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        info = {"apiKey": KEY, "remark": "r", "apiVersion": 3, "permission": "General",
                "ipWhitelist": "", "createdAt": 1, "uid": 1001, "isMaster": True}  # fmt: skip
        return httpx.Response(
            200,
            content=json.dumps({"code": "200000", "data": info}).encode(),
            headers={
                "gw-ratelimit-limit": "2000",
                "gw-ratelimit-remaining": "0",
                "gw-ratelimit-reset": "15000",
            },  # fmt: skip
        )

    client = KucoinClient("https://api.kucoin.com", transport=Canned(answer), auto_sync=False)
    cred = Credential(Secret(KEY), Secret(SECRET), Secret(PASS))
    info = await client.api_key_info(cred)
    await client.aclose()
    budget = client.rate_limit_for(cred)
    assert info.uid == 1001
    assert budget is not None and budget.remaining == 0 and budget.reset_ms == 15000


async def test_a_local_clock_6_s_off_still_checks_ok(sim: Simulator) -> None:
    cred = _master(sim)
    real = sim.clock
    client = KucoinClient(
        "https://api.kucoin.com", transport=sim.transport(), clock=lambda: real() + 6000.0
    )
    info = await client.api_key_info(cred)
    await client.aclose()
    assert info.uid == 1001
