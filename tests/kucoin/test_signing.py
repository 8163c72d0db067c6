"""Signing reproduces KuCoin's vectors (docs/kucoin.md, "Signing") and round-trips via the
simulator."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kutui.kucoin import signing
from kutui.kucoin.simulator import Simulator
from kutui.model import Credential
from kutui.secret import Secret
from tests.kucoin.conftest import FakeClock, signed_call

SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
STAMP = 1547015186532
DELETE_PARAMS = [("apiKey", "67b3"), ("subName", "test"), ("passphrase", "abc!@#11")]


def test_official_post_vector() -> None:
    body = signing.compact_json({"currency": "BTC"})
    assert body == '{"currency":"BTC"}'
    pre = signing.prehash(STAMP, "POST", "/api/v1/deposit-addresses", "", body)
    assert pre == '1547015186532POST/api/v1/deposit-addresses{"currency":"BTC"}'
    assert signing.hmac_b64(SECRET, pre) == "7QP/oM0ykidMdrfNEUmng8eZjg/ZvPafjIqmxiVfYu4="


def test_get_vector() -> None:
    assert (
        signing.sign(SECRET, STAMP, "get", "/api/v1/user/api-key")
        == "pmU7prytKlTtZ5ufMjF8cnJrVBcrxBY2soFXmQbfIW4="
    )


def test_delete_vector_signs_the_unencoded_query_and_sends_the_encoded_one() -> None:
    raw = signing.raw_query(DELETE_PARAMS)
    assert raw == "apiKey=67b3&subName=test&passphrase=abc!@#11"
    assert (
        signing.encoded_query(DELETE_PARAMS) == "apiKey=67b3&subName=test&passphrase=abc%21%40%2311"
    )
    assert (
        signing.sign(SECRET, STAMP, "DELETE", "/api/v1/sub/api-key", raw)
        == "q23c/i2gyJTvxfMqyggt50eJ/WqglLvTjqA4/ZuanN8="
    )
    encoded = signing.encoded_query(DELETE_PARAMS)
    assert (
        signing.sign(SECRET, STAMP, "DELETE", "/api/v1/sub/api-key", encoded)
        == "IpI4Rap5x1RzXteIRsFVL7WpdJ4oXoWe4bs3HVL70kY="
    )


def test_passphrase_vectors_per_key_version() -> None:
    assert (
        signing.passphrase_value(SECRET, "Ab12345678)(*&^%$#@", 2)
        == "F2p2bNS1bBehHvC/Z4YkB7l1Wd0Pq2iV/oLHM/DyE+I="
    )
    assert (
        signing.passphrase_value("test_api_secret", "test_passphrase", 3)
        == "Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0="
    )
    assert signing.hmac_b64("test_api_secret", "test_plain") == (
        "jie/gxS38wLFFaBwl/cAzFbAzlI8MIny96jSXrB+iP4="
    )
    assert signing.passphrase_value(SECRET, "plain-pass", 1) == "plain-pass"


def test_headers_carry_the_key_version_and_the_timestamp_signed() -> None:
    cred = Credential(Secret("5c2db93503aa674c74a31734"), Secret(SECRET), Secret("pass-word1"), 2)
    headers = signing.auth_headers(
        cred, timestamp_ms=STAMP, method="GET", path="/api/v1/user/api-key"
    )
    assert headers["KC-API-TIMESTAMP"] == str(STAMP)
    assert headers["KC-API-KEY-VERSION"] == "2"
    assert headers["KC-API-SIGN"] == "pmU7prytKlTtZ5ufMjF8cnJrVBcrxBY2soFXmQbfIW4="
    assert headers["KC-API-PASSPHRASE"] == signing.hmac_b64(SECRET, "pass-word1")
    v1 = Credential(cred.api_key, cred.api_secret, cred.passphrase, 1)
    v1_headers = signing.auth_headers(v1, timestamp_ms=STAMP, method="GET", path="/x")
    assert "KC-API-KEY-VERSION" not in v1_headers
    assert v1_headers["KC-API-PASSPHRASE"] == "pass-word1"


def test_compact_json_has_no_spaces() -> None:
    text = signing.compact_json({"a": [1, 2], "b": {"c": "d e"}})
    assert text == '{"a":[1,2],"b":{"c":"d e"}}'
    assert json.loads(text) == {"a": [1, 2], "b": {"c": "d e"}}


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_text.filter(bool), _text), min_size=1, max_size=4))
def test_any_query_round_trips_through_sign_and_verify(pairs: list[tuple[str, str]]) -> None:
    clock = FakeClock()
    sim = Simulator(clock=clock)
    sim.add_user(1001)
    key = sim.add_key(1001)
    answer = signed_call(sim, key, path="/api/v1/accounts", params=pairs)
    assert json.loads(answer.body)["code"] == "200000"
    encoded = signing.encoded_query(pairs)
    if encoded != signing.raw_query(pairs):
        wrong = signed_call(sim, key, path="/api/v1/accounts", params=pairs, sign_query=encoded)
        assert json.loads(wrong.body)["code"] == "400005"


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(_text.filter(bool), _text, max_size=4))
def test_any_json_body_round_trips(extra: dict[str, str]) -> None:
    sim = Simulator(clock=FakeClock())
    sim.add_user(1001)
    sim.add_user(2001, sub_name="bot1", master_uid=1001)
    key = sim.add_key(1001)
    body = signing.compact_json(
        {
            "subName": "bot1",
            "passphrase": "Pass-123",
            "remark": "r",
            **{f"x{k}": v for k, v in extra.items()},
        }
    )
    answer = signed_call(sim, key, "POST", "/api/v1/sub/api-key", body=body)
    assert json.loads(answer.body)["code"] == "200000"
