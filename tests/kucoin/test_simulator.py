"""The simulator answers as KuCoin does: auth failures, quotas, masking, sub-account key CRUD."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.kucoin import signing
from kutui.kucoin.simulator import SimulatorStateError, exchange
from kutui.model import Credential
from kutui.secret import Secret
from tests.kucoin.conftest import World, signed_call


def _code(answer: object) -> tuple[int, str, str]:
    body = json.loads(answer.body)  # type: ignore[attr-defined]
    return answer.status, body["code"], body.get("msg", "")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "header", ["KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE"]
)
def test_each_missing_header_is_400001(world: World, header: str) -> None:
    answer = signed_call(world.sim, world.master, tweak=lambda h: h.pop(header))
    assert _code(answer)[:2] == (400, "400001")


@pytest.mark.parametrize("stamp", ["soon", "1.7e12", "-5", "١٧٥٠٠٠٠٠٠٠٠٠٠"])
def test_a_timestamp_that_is_not_a_number_is_400001(world: World, stamp: str) -> None:
    def tweak(h: dict[str, str]) -> None:
        h["KC-API-TIMESTAMP"] = stamp

    assert _code(signed_call(world.sim, world.master, tweak=tweak))[:2] == (400, "400001")


def test_a_stale_timestamp_says_invalid_kc_api_timestamp(world: World) -> None:
    answer = signed_call(world.sim, world.master, timestamp_ms=world.sim.now_ms() + 9_000)
    assert _code(answer) == (400, "400002", "Invalid KC-API-TIMESTAMP")


@pytest.mark.parametrize("skew_ms", [5_000, -5_000, 60_000])
def test_a_stale_timestamp_is_400002(world: World, skew_ms: int) -> None:
    stamp = world.sim.now_ms() + skew_ms
    assert _code(signed_call(world.sim, world.master, timestamp_ms=stamp))[:2] == (400, "400002")


def test_a_timestamp_within_five_seconds_passes(world: World) -> None:
    stamp = world.sim.now_ms() - 4_900
    assert _code(signed_call(world.sim, world.master, timestamp_ms=stamp))[1] == "200000"


def test_an_unknown_key_is_400003(world: World) -> None:
    world.sim.remove_key(world.sub.api_key)
    assert _code(signed_call(world.sim, world.sub))[:2] == (401, "400003")


def test_an_expired_key_is_400003(world: World) -> None:
    key = world.sim.add_key(2001, expire_days=30)
    world.clock.now += 31 * 86_400_000
    assert _code(signed_call(world.sim, key))[1] == "400003"


def test_a_wrong_passphrase_is_400004(world: World) -> None:
    def wrong(h: dict[str, str]) -> None:
        h["KC-API-PASSPHRASE"] = signing.passphrase_value(world.master.api_secret, "Wrong-pass1", 3)

    assert _code(signed_call(world.sim, world.master, tweak=wrong))[:2] == (401, "400004")


def test_a_wrong_secret_is_400004_as_the_passphrase_is_hmacd_with_it(world: World) -> None:
    real = world.master.credential()
    wrong = Credential(
        real.api_key, Secret("00000000-0000-0000-0000-000000000000"), real.passphrase
    )
    assert _code(signed_call(world.sim, world.master, cred=wrong))[:2] == (401, "400004")


def test_the_passphrase_is_checked_before_the_signature(world: World) -> None:
    def both_wrong(h: dict[str, str]) -> None:
        h["KC-API-PASSPHRASE"] = signing.passphrase_value(world.master.api_secret, "Wrong-pass1", 3)
        h["KC-API-SIGN"] = "AAAA"

    assert _code(signed_call(world.sim, world.master, tweak=both_wrong))[1] == "400004"


def test_a_signature_wrong_with_the_right_passphrase_and_secret_is_400005(world: World) -> None:
    answer = signed_call(world.sim, world.master, sign_query="tampered=1")
    assert _code(answer)[:2] == (401, "400005")


@pytest.mark.parametrize("header", ["KC-API-SIGN", "KC-API-PASSPHRASE", "KC-API-KEY"])
@given(value=st.text(min_size=1).filter(lambda t: not t.isascii() and t.strip()))
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_header_text_gets_an_envelope(world: World, header: str, value: str) -> None:
    def tweak(h: dict[str, str]) -> None:
        h[header] = value

    status, code, _msg = _code(signed_call(world.sim, world.master, tweak=tweak))
    assert code == {"KC-API-SIGN": "400005", "KC-API-PASSPHRASE": "400004"}.get(header, "400003")
    assert status == 401


def test_a_handler_that_raises_still_answers_500000(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ex: object, request: object) -> object:
        raise KeyError("bug")

    route = exchange.ROUTES["/api/v1/user/api-key"]["GET"]
    monkeypatch.setitem(
        exchange.ROUTES["/api/v1/user/api-key"], "GET", dataclasses.replace(route, handler=broken)
    )
    status, code, msg = _code(signed_call(world.sim, world.master))
    assert (status, code) == (500, "500000")
    assert "KeyError" in msg


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("a b", "a+b"),  # urlencode-based clients (kucoin-universal-sdk, requests) send + for space
        ("a b", "a%20b"),  # kutui sends %20
        ("a+b", "a%2Bb"),  # a plus sign is sent escaped
    ],
)
def test_the_query_is_decoded_once_for_both_the_values_and_the_signature(
    world: World, value: str, sent: str
) -> None:
    stamp = int(world.sim.now_ms())
    params = [("subName", "bot1"), ("apiKey", value)]
    headers = signing.auth_headers(
        world.master.credential(),
        timestamp_ms=stamp,
        method="GET",
        path="/api/v1/sub/api-key",
        query=signing.raw_query(params),
    )
    target = f"/api/v1/sub/api-key?subName=bot1&apiKey={sent}"
    answer = world.sim.handle("GET", target, headers, b"", "127.0.0.1")
    assert _code(answer)[1] == "200000"
    assert exchange.query_pairs(target.partition("?")[2]) == params


def test_a_literal_plus_signed_as_a_plus_is_400005(world: World) -> None:
    # ccxt signs the text it sends; a raw "+" reads as a space, so the signature cannot match.
    stamp = int(world.sim.now_ms())
    headers = signing.auth_headers(
        world.master.credential(),
        timestamp_ms=stamp,
        method="GET",
        path="/api/v1/sub/api-key",
        query="subName=bot1&apiKey=a+b",
    )
    target = "/api/v1/sub/api-key?subName=bot1&apiKey=a+b"
    assert _code(world.sim.handle("GET", target, headers, b"", "127.0.0.1"))[1] == "400005"


def test_a_signature_over_the_percent_encoded_query_is_400005(world: World) -> None:
    params = [("subName", "bot1"), ("apiKey", "a!b@c#")]
    encoded = signing.encoded_query(params)
    bad = signed_call(
        world.sim, world.master, path="/api/v1/sub/api-key", params=params, sign_query=encoded
    )
    assert _code(bad)[:2] == (401, "400005")
    good = signed_call(world.sim, world.master, path="/api/v1/sub/api-key", params=params)
    assert _code(good)[1] == "200000"


def test_an_address_not_whitelisted_is_400006_naming_it(world: World) -> None:
    key = world.sim.add_key(2001, ip_whitelist=["10.0.0.0/8", "192.0.2.7"])
    status, code, msg = _code(signed_call(world.sim, key, client_ip="203.0.113.9"))
    assert (status, code) == (403, "400006")
    assert "203.0.113.9" in msg
    assert _code(signed_call(world.sim, key, client_ip="10.1.2.3"))[1] == "200000"
    assert _code(signed_call(world.sim, key, client_ip="192.0.2.7"))[1] == "200000"


def test_a_key_without_general_permission_is_400007(world: World) -> None:
    key = world.sim.add_key(2001, permission="Spot")
    assert _code(signed_call(world.sim, key))[:2] == (403, "400007")


@pytest.mark.parametrize("key_version", [2, 3])
@pytest.mark.parametrize("header", ["2", "3"])
def test_version_headers_2_and_3_are_interchangeable(
    world: World, key_version: int, header: str
) -> None:
    key = world.sim.add_key(2001, api_version=key_version)

    def claim(h: dict[str, str]) -> None:
        h["KC-API-KEY-VERSION"] = header

    assert _code(signed_call(world.sim, key, tweak=claim))[1] == "200000"


@pytest.mark.parametrize("key_version", [2, 3])
@pytest.mark.parametrize("header", ["1", None])
def test_a_plaintext_passphrase_for_a_v2_or_v3_key_is_400004(
    world: World, key_version: int, header: str | None
) -> None:
    key = world.sim.add_key(2001, api_version=key_version)

    def as_v1(h: dict[str, str]) -> None:
        h["KC-API-PASSPHRASE"] = key.passphrase
        h.pop("KC-API-KEY-VERSION")
        if header is not None:
            h["KC-API-KEY-VERSION"] = header

    assert _code(signed_call(world.sim, key, tweak=as_v1))[:2] == (401, "400004")


def test_a_v1_key_sent_as_v2_is_400004(world: World) -> None:
    key = world.sim.add_key(2001, api_version=1)

    def as_v2(h: dict[str, str]) -> None:
        h["KC-API-PASSPHRASE"] = signing.passphrase_value(key.api_secret, key.passphrase, 2)
        h["KC-API-KEY-VERSION"] = "2"

    assert _code(signed_call(world.sim, key, tweak=as_v2))[1] == "400004"


@pytest.mark.parametrize("header", ["v3", "4", "0", "2.0", "\u0663"])
def test_any_other_version_header_is_400009(world: World, header: str) -> None:
    def garbage(h: dict[str, str]) -> None:
        h["KC-API-KEY-VERSION"] = header

    assert _code(signed_call(world.sim, world.master, tweak=garbage))[:2] == (400, "400009")


def test_a_rejected_key_version_is_400008(world: World) -> None:
    key = world.sim.add_key(2001, api_version=2)
    world.sim.server.reject_versions = (1, 2)
    assert _code(signed_call(world.sim, key))[1] == "400008"
    assert _code(signed_call(world.sim, world.master))[1] == "200000"


def test_a_v1_key_sends_its_passphrase_in_clear_without_a_version_header(world: World) -> None:
    key = world.sim.add_key(2001, api_version=1)
    assert _code(signed_call(world.sim, key))[1] == "200000"


def test_a_frozen_user_is_411100(world: World) -> None:
    world.sim.user(2001).status = "frozen"
    assert _code(signed_call(world.sim, world.sub))[:2] == (403, "411100")


def test_a_sub_account_key_on_a_master_endpoint_is_400010(world: World) -> None:
    answer = signed_call(
        world.sim, world.sub, path="/api/v2/sub/user", params=[("currentPage", "1")]
    )
    assert _code(answer)[:2] == (403, "400010")


def test_unknown_path_and_method(world: World) -> None:
    assert _code(world.sim.handle("GET", "/api/v9/nothing", {}, b"", "127.0.0.1"))[1] == "404000"
    assert _code(world.sim.handle("PUT", "/api/v1/timestamp", {}, b"", "127.0.0.1"))[1] == "405000"


def test_key_info_masks_the_whitelist_and_names_the_sub_account(world: World) -> None:
    key = world.sim.add_key(2001, ip_whitelist=["203.0.113.154", "198.51.100.34"])
    data = json.loads(signed_call(world.sim, key, client_ip="203.0.113.154").body)["data"]
    assert data["ipWhitelist"] == "203.**.154,198.**.34"
    assert data["subName"] == "bot1" and data["isMaster"] is False and data["uid"] == 2001
    master = json.loads(signed_call(world.sim, world.master).body)["data"]
    assert master["isMaster"] is True and "subName" not in master and "ipWhitelist" not in master


def test_management_quota_runs_out_then_resets_after_the_window(world: World) -> None:
    # VIP0: 2000 points per 30 s; key info weighs 20 -> 100 calls.
    for n in range(100):
        answer = signed_call(world.sim, world.master)
        assert answer.status == 200, n
    headers = dict(answer.headers)
    assert headers["gw-ratelimit-limit"] == "2000" and headers["gw-ratelimit-remaining"] == "0"
    refused = signed_call(world.sim, world.master)
    assert _code(refused)[:2] == (429, "429000")
    assert 0 < int(dict(refused.headers)["gw-ratelimit-reset"]) <= 30_000
    assert world.sim.counters.rate_limited == 1
    # Quotas are per uid: the sub-account still has its own.
    assert signed_call(world.sim, world.sub).status == 200
    world.clock.now += 30_000
    assert signed_call(world.sim, world.master).status == 200


def test_vip_level_raises_the_quota(world: World) -> None:
    world.sim.user(1001).vip_level = 5
    assert dict(signed_call(world.sim, world.master).headers)["gw-ratelimit-limit"] == "7000"


def test_every_response_carries_rate_limit_headers(world: World) -> None:
    for answer in (
        world.sim.handle("GET", "/api/v1/timestamp", {}, b"", "127.0.0.1"),
        signed_call(world.sim, world.master),
        signed_call(world.sim, world.master, tweak=lambda h: h.pop("KC-API-SIGN")),
    ):
        assert {"gw-ratelimit-limit", "gw-ratelimit-remaining", "gw-ratelimit-reset"} <= set(
            dict(answer.headers)
        )


def _create(world: World, **fields: object) -> tuple[int, str, str, object]:
    body = {"subName": "bot1", "passphrase": "Good-pass1", "remark": "new", **fields}
    answer = signed_call(
        world.sim, world.master, "POST", "/api/v1/sub/api-key", body=signing.compact_json(body)
    )
    status, code, msg = _code(answer)
    return status, code, msg, json.loads(answer.body).get("data")


def test_create_returns_the_secret_once_and_adds_the_key(world: World) -> None:
    _, code, _, data = _create(world, permission="Spot,Futures", ipWhitelist="10.0.0.1,10.0.0.2")
    assert code == "200000" and isinstance(data, dict)
    key = world.sim.key(data["apiKey"])
    assert key is not None and key.api_secret == data["apiSecret"]
    assert key.permissions == ("General", "Spot", "Futures")
    assert key.ip_whitelist == ("10.0.0.1", "10.0.0.2")
    listed = signed_call(
        world.sim, world.master, path="/api/v1/sub/api-key", params=[("subName", "bot1")]
    )
    rows = json.loads(listed.body)["data"]
    assert {r["apiKey"] for r in rows} == {world.sub.api_key, data["apiKey"]}
    assert all("apiSecret" not in r for r in rows)


@pytest.mark.parametrize(
    "fields",
    [
        {"passphrase": "short1"},
        {"passphrase": "has space1"},
        {"passphrase": "x" * 33},
        {"remark": ""},
        {"remark": "r" * 25},
        {"permission": "General,Withdrawal"},
        {"ipWhitelist": ",".join(f"10.0.0.{n}" for n in range(21))},
        {"ipWhitelist": "not-an-ip"},
        {"expire": "7"},
        {"subName": "nobody"},
    ],
)
def test_create_rejects_bad_fields(world: World, fields: dict[str, object]) -> None:
    before = len(world.sim.state.keys)
    status, code, _, _ = _create(world, **fields)
    assert (status, code) == (400, "400100")
    assert len(world.sim.state.keys) == before


def test_create_accepts_every_expiry_choice(world: World) -> None:
    for expire in ("-1", "30", "90", "180", "360"):
        assert _create(world, expire=expire)[1] == "200000"


def test_update_resets_permissions_and_whitelist(world: World) -> None:
    body = {
        "subName": "bot1",
        "apiKey": world.sub.api_key,
        "passphrase": "Sub-pass-12",
        "permission": "Futures",
        "ipWhitelist": "10.9.8.7",
    }
    answer = signed_call(
        world.sim,
        world.master,
        "POST",
        "/api/v1/sub/api-key/update",
        body=signing.compact_json(body),
    )
    assert _code(answer)[1] == "200000"
    assert world.sub.permissions == ("General", "Futures")
    assert world.sub.ip_whitelist == ("10.9.8.7",)


def test_delete_needs_the_keys_passphrase_and_removes_it(world: World) -> None:
    params = [("apiKey", world.sub.api_key), ("subName", "bot1"), ("passphrase", "Wrong-pass9")]
    path = "/api/v1/sub/api-key"
    assert _code(signed_call(world.sim, world.master, "DELETE", path, params=params))[1] == "400100"
    assert world.sim.key(world.sub.api_key) is not None
    params[2] = ("passphrase", "Sub-pass-12")
    assert _code(signed_call(world.sim, world.master, "DELETE", path, params=params))[1] == "200000"
    assert world.sim.key(world.sub.api_key) is None
    assert _code(signed_call(world.sim, world.sub))[1] == "400003"


def test_sub_accounts_are_paged(world: World) -> None:
    for n in range(24):
        world.sim.add_user(3000 + n, sub_name=f"s{n:02d}", master_uid=1001)
    answer = signed_call(
        world.sim,
        world.master,
        path="/api/v2/sub/user",
        params=[("currentPage", "3"), ("pageSize", "10")],
    )
    data = json.loads(answer.body)["data"]
    assert (data["totalNum"], data["totalPage"], data["currentPage"]) == (25, 3, 3)
    assert len(data["items"]) == 5 and data["items"][0]["status"] == 2
    too_big = signed_call(
        world.sim, world.master, path="/api/v2/sub/user", params=[("pageSize", "101")]
    )
    assert _code(too_big)[1] == "400100"


def test_post_without_json_content_type_is_415(world: World) -> None:
    def form(h: dict[str, str]) -> None:
        h["Content-Type"] = "application/x-www-form-urlencoded"

    answer = signed_call(
        world.sim, world.master, "POST", "/api/v1/sub/api-key", body="{}", tweak=form
    )
    assert _code(answer)[:2] == (415, "415000")


def test_server_clock_offset_shows_in_timestamp(world: World) -> None:
    world.sim.server.time_offset_ms = 6_000
    answer = world.sim.handle("GET", "/api/v1/timestamp", {}, b"", "127.0.0.1")
    assert json.loads(answer.body)["data"] == int(world.clock.now) + 6_000


@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        ("timeout", "hang"),
        ("5xx", 500),
        ("html", 502),
        ("clock_skew", "400002"),
        ("rate_limit", "429000"),
    ],
)
def test_per_user_faults(world: World, fault: str, expect: object) -> None:
    world.sim.set_fault(2001, fault)
    answer = signed_call(world.sim, world.sub)
    if expect == "hang":
        assert answer.hang
    elif isinstance(expect, int):
        assert answer.status >= expect
    else:
        assert json.loads(answer.body)["code"] == expect
    assert signed_call(world.sim, world.master).status == 200  # other users unaffected
    assert world.sim.counters.faults[fault] == 1


def test_global_fault_rates_and_latency(world: World) -> None:
    world.sim.server.error_rate = 1.0
    world.sim.server.latency_ms = 40
    answer = world.sim.handle("GET", "/api/v1/timestamp", {}, b"", "127.0.0.1")
    assert answer.status in (500, 503) and answer.delay_s == pytest.approx(0.04)
    world.sim.server.error_rate = 0.0
    world.sim.server.html_error_rate = 1.0
    html = world.sim.handle("GET", "/api/v1/timestamp", {}, b"", "127.0.0.1")
    assert html.body.startswith(b"<html>")


def test_builder_rejects_bad_records(world: World) -> None:
    with pytest.raises(SimulatorStateError, match=r"add_key\.api_version"):
        world.sim.add_key(1001, api_version=4)
    with pytest.raises(SimulatorStateError, match=r"add_user\.master_uid"):
        world.sim.add_user(5000, sub_name="orphan", master_uid=4242)
    with pytest.raises(SimulatorStateError, match=r"add_user\.uid"):
        world.sim.add_user(1001)


def test_the_v1_sub_account_list_is_served_unpaged(world: World) -> None:
    for uid in range(2002, 2014):
        world.sim.add_user(uid, sub_name=f"bot{uid}", master_uid=1001, remarks="r")
    answer = signed_call(world.sim, world.master, path="/api/v1/sub/user")
    rows = json.loads(answer.body)["data"]
    assert answer.status == 200 and len(rows) == 13
    assert set(rows[0]) == {"userId", "uid", "subName", "type", "remarks", "access"}
    assert dict(answer.headers)["gw-ratelimit-remaining"] == "1980"  # weight 20, Management
    assert _code(signed_call(world.sim, world.sub, path="/api/v1/sub/user"))[1] == "400010"


@pytest.mark.parametrize("wrong", ["passphrase", "signature", "key"])
def test_failed_authentication_reports_the_public_pool(world: World, wrong: str) -> None:
    signed_call(world.sim, world.master)  # the Management pool: 1980 left
    signed_call(world.sim, world.master)  # 1960
    tweaks = {
        "passphrase": lambda h: h.update({"KC-API-PASSPHRASE": "x"}),
        "signature": lambda h: h.update({"KC-API-SIGN": "x"}),
        "key": lambda h: h.update({"KC-API-KEY": "0" * 24}),
    }
    answer = signed_call(world.sim, world.master, tweak=tweaks[wrong])
    assert dict(answer.headers)["gw-ratelimit-remaining"] == "2000"  # the public pool, untouched
    frozen = world.sim.add_key(2001)
    world.sim.user(2001).status = "frozen"
    denied = signed_call(world.sim, frozen)
    assert _code(denied)[1] == "411100"
    assert dict(denied.headers)["gw-ratelimit-remaining"] == "2000"  # sub 2001's own pool
