"""Classification: body code first, then HTTP status; broken bodies say nothing about the key."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kutui.kucoin.diagnosis import ADVICE, KucoinApiError, classify
from kutui.model import Status


def _body(code: str, msg: str = "m") -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("400003", Status.INVALID_KEY),
        ("400004", Status.BAD_PASSPHRASE),
        ("400005", Status.BAD_SECRET),
        ("400006", Status.IP_DENIED),
        ("400007", Status.PERMISSION_DENIED),
        ("400010", Status.PERMISSION_DENIED),
        ("400008", Status.UNSUPPORTED_VERSION),
        ("400009", Status.UNSUPPORTED_VERSION),
        ("411100", Status.FROZEN),
        ("400002", Status.CLOCK_SKEW),
        ("429000", Status.RATE_LIMITED),
    ],
)
@pytest.mark.parametrize("http_status", [200, 400, 401, 403])
def test_the_body_code_decides_even_with_http_200(
    code: str, status: Status, http_status: int
) -> None:
    diagnosis = classify(http_status, _body(code, "KuCoin words"))
    assert diagnosis.status is status and diagnosis.code == code
    assert diagnosis.message == "KuCoin words"


def test_success() -> None:
    diagnosis = classify(200, b'{"code":"200000","data":{"uid":1}}')
    assert diagnosis.ok and diagnosis.data == {"uid": 1}


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        (200, b""),
        (200, b'{"code":"200000","data":{"ui'),
        (502, b"<html><body>Bad Gateway</body></html>"),
        (500, _body("500000")),
        (503, b"null"),
        (404, _body("404000")),
        (500, b'{"code":"200000","data":1}'),
    ],
)
def test_broken_or_server_side_answers_are_unreachable(http_status: int, body: bytes) -> None:
    assert classify(http_status, body).status is Status.UNREACHABLE


def test_http_429_is_rate_limited_whatever_the_body() -> None:
    assert classify(429, b"<html>slow down</html>").status is Status.RATE_LIMITED
    assert classify(429, b"").status is Status.RATE_LIMITED


def test_every_status_has_advice() -> None:
    assert set(ADVICE) == set(Status)


@given(st.binary(max_size=64), st.integers(min_value=100, max_value=599))
def test_classify_never_raises(body: bytes, http_status: int) -> None:
    assert classify(http_status, body).status in set(Status)


def test_error_messages_are_redacted() -> None:
    leaky = _body("400100", "bad apiKey 6705f5c311545b000157d3eb passphrase=hunter22")
    err = KucoinApiError(classify(400, leaky), what="deleting")
    assert "6705f5c311545b000157d3eb" not in str(err) and "hunter22" not in str(err)
    assert err.exit_code == 1


def test_400004_names_both_the_passphrase_and_the_secret() -> None:
    # KuCoin checks the V2/V3 passphrase, HMAC'd with the secret, before the signature.
    diagnosis = classify(401, b'{"code":"400004","msg":"Invalid KC-API-PASSPHRASE"}')
    assert "passphrase" in diagnosis.explanation and "secret" in diagnosis.explanation
    assert "passphrase" in diagnosis.action and "secret" in diagnosis.action


def test_400005_says_the_credentials_are_right_and_the_signature_is_not() -> None:
    diagnosis = classify(401, b'{"code":"400005","msg":"Invalid KC-API-SIGN"}')
    assert "passphrase and secret are right" in diagnosis.explanation
    assert "proxy" in diagnosis.action and "clock" in diagnosis.action
    assert "re-enter" not in diagnosis.action


def test_the_tui_shows_the_same_fix_as_the_cli() -> None:
    from kutui.tui.widgets.status_badge import fix_for

    for status, (_meaning, fix) in ADVICE.items():
        if status is not Status.UNCHECKED:
            assert fix_for(status) == fix
