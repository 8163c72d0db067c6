"""The client against the in-process simulator: every key-health status, paging, skew, 429s."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from kutui.errors import KucoinError, UsageError
from kutui.kucoin.client import ClientPool, KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.model import Credential, Status
from kutui.secret import Secret
from tests.kucoin.conftest import World


def _with(cred: Credential, **changes: object) -> Credential:
    fields = {
        "api_key": cred.api_key,
        "api_secret": cred.api_secret,
        "passphrase": cred.passphrase,
        "api_version": cred.api_version,
        **changes,
    }
    return Credential(**fields)  # type: ignore[arg-type]


async def _status_of(client: KucoinClient, cred: Credential) -> KucoinApiError:
    with pytest.raises(KucoinApiError) as caught:
        await client.api_key_info(cred)
    return caught.value


async def test_ok_records_permissions_version_uid_and_whitelist(world: World) -> None:
    key = world.sim.add_key(
        2001, permission="General,Spot", ip_whitelist=["127.0.0.1"], api_version=2
    )
    client = world.client()
    info = await client.api_key_info(key.credential())
    await client.aclose()
    assert info.permissions == ("General", "Spot")
    assert (info.api_version, info.uid, info.is_master, info.sub_name) == (2, 2001, False, "bot1")
    assert info.ip_whitelist == "127.**.1"
    assert info.api_key == key.api_key


Setup = Callable[[World], Credential]


def _removed(w: World) -> Credential:
    w.sim.remove_key(w.sub.api_key)
    return w.sub.credential()


def _wrong_passphrase(w: World) -> Credential:
    return _with(w.sub.credential(), passphrase=Secret("Not-the-one1"))


def _wrong_secret(w: World) -> Credential:
    return _with(w.sub.credential(), api_secret=Secret("11111111-2222-3333-4444-555555555555"))


def _not_whitelisted(w: World) -> Credential:
    return w.sim.add_key(2001, ip_whitelist=["10.0.0.1"]).credential()


def _no_general(w: World) -> Credential:
    return w.sim.add_key(2001, permission="Spot").credential()


def _stored_as_v1(w: World) -> Credential:
    # Version 1 sends the passphrase in clear, which a V3 key refuses (docs/kucoin.md).
    return _with(w.sub.credential(), api_version=1)


def _rejected_version(w: World) -> Credential:
    w.sim.server.reject_versions = (2,)
    return w.sim.add_key(2001, api_version=2).credential()


def _frozen(w: World) -> Credential:
    w.sim.user(2001).status = "frozen"
    return w.sub.credential()


def _fault(name: str) -> Setup:
    def setup(w: World) -> Credential:
        w.sim.set_fault(2001, name)
        return w.sub.credential()

    return setup


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        (_removed, Status.INVALID_KEY, "400003"),
        (_wrong_passphrase, Status.BAD_PASSPHRASE, "400004"),
        # The V2/V3 passphrase header is HMAC'd with the secret: KuCoin checks it first.
        (_wrong_secret, Status.BAD_PASSPHRASE, "400004"),
        (_not_whitelisted, Status.IP_DENIED, "400006"),
        (_no_general, Status.PERMISSION_DENIED, "400007"),
        (_stored_as_v1, Status.BAD_PASSPHRASE, "400004"),
        (_rejected_version, Status.UNSUPPORTED_VERSION, "400008"),
        (_frozen, Status.FROZEN, "411100"),
        (_fault("clock_skew"), Status.CLOCK_SKEW, "400002"),
        (_fault("rate_limit"), Status.RATE_LIMITED, "429000"),
        (_fault("5xx"), Status.UNREACHABLE, ""),
        (_fault("html"), Status.UNREACHABLE, ""),
    ],
)
async def test_every_failure_status_of_the_design_table(
    world: World, setup: Setup, status: Status, code: str
) -> None:
    cred = setup(world)
    client = world.client()
    err = await _status_of(client, cred)
    await client.aclose()
    assert err.status == status.value
    if code:
        assert err.code == code
    assert err.hint  # what to do
    for secret in (cred.api_key, cred.api_secret, cred.passphrase):
        assert secret.reveal() not in str(err) and secret.reveal() not in repr(err)


async def test_ip_denied_names_the_address_kucoin_saw(world: World) -> None:
    cred = world.sim.add_key(2001, ip_whitelist=["10.0.0.1"]).credential()
    client = world.client(client_ip="198.51.100.23")
    err = await _status_of(client, cred)
    assert "198.51.100.23" in str(err)


async def test_permission_denied_for_a_sub_account_key_on_master_endpoints(world: World) -> None:
    client = world.client()
    with pytest.raises(KucoinApiError) as caught:
        await client.sub_accounts(world.sub.credential())
    assert (caught.value.status, caught.value.code) == ("permission_denied", "400010")


async def test_timeouts_are_unreachable_after_retrying_the_get(world: World) -> None:
    world.sim.set_fault(2001, "timeout")
    client = world.client(timeout=0.05, max_retries=2)
    err = await _status_of(client, world.sub.credential())
    await client.aclose()
    assert err.status == "unreachable" and err.http_status == 0
    assert world.sim.counters.endpoints["GET /api/v1/user/api-key"] == 3
    assert len(world.clock.sleeps) == 2  # backoff between attempts


class _Canned(httpx.AsyncBaseTransport):
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer(request)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


@pytest.mark.parametrize(
    "answer",
    [
        _refuse,
        lambda r: httpx.Response(200, content=b'{"code":"200000","da'),
        lambda r: httpx.Response(200, content=b""),
        lambda r: httpx.Response(503, content=b"<html>maintenance</html>"),
    ],
    ids=["connection-refused", "truncated", "empty", "html-503"],
)
async def test_broken_answers_are_unreachable(
    world: World, answer: Callable[[httpx.Request], httpx.Response]
) -> None:
    client = KucoinClient(
        "https://api.kucoin.com", transport=_Canned(answer), sleep=world.clock.sleep, max_retries=1
    )
    err = await _status_of(client, world.sub.credential())
    assert err.status == "unreachable"


async def test_a_get_recovers_after_a_5xx(world: World) -> None:
    world.sim.set_fault(2001, "5xx")

    async def heal(seconds: float) -> None:
        world.sim.set_fault(2001, "")

    client = world.client(sleep=heal)
    info = await client.api_key_info(world.sub.credential())
    assert info.uid == 2001
    assert world.sim.counters.endpoints["GET /api/v1/user/api-key"] == 2


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
async def test_a_create_is_never_retried(world: World, fault: str) -> None:
    world.sim.set_fault(1001, fault)
    client = world.client(timeout=0.05)
    with pytest.raises(KucoinApiError) as caught:
        await client.create_sub_api_key(
            world.master.credential(), sub_name="bot1", passphrase=Secret("New-pass-1"), remark="r"
        )
    assert caught.value.status == "unreachable"
    assert world.sim.counters.endpoints["POST /api/v1/sub/api-key"] == 1


async def test_250_sub_accounts_across_pages(world: World) -> None:
    for n in range(249):
        world.sim.add_user(10_000 + n, sub_name=f"sub{n:03d}", master_uid=1001)
    client = world.client()
    subs = await client.sub_accounts(world.master.credential())
    assert len(subs) == 250 and len({s.uid for s in subs}) == 250
    assert {s.sub_name for s in subs} >= {"bot1", "sub000", "sub248"}
    assert world.sim.counters.endpoints["GET /api/v2/sub/user"] == 3


async def test_a_6_second_clock_skew_is_corrected_before_the_first_signed_call(
    world: World,
) -> None:
    world.sim.server.time_offset_ms = 6_000
    client = world.client()
    info = await client.api_key_info(world.sub.credential())
    assert info.uid == 2001
    assert client.clock_offset_ms == 6_000
    assert world.sim.counters.codes["400002"] == 0


async def test_a_skew_appearing_later_is_corrected_by_one_resync(world: World) -> None:
    client = world.client()
    await client.api_key_info(world.sub.credential())
    world.sim.server.time_offset_ms = -6_000  # the host clock jumps ahead mid-run
    info = await client.api_key_info(world.sub.credential())
    assert info.uid == 2001
    assert client.clock_offset_ms == -6_000
    assert world.sim.counters.codes["400002"] == 1
    assert world.sim.counters.endpoints["GET /api/v1/timestamp"] == 2


async def test_persistent_400002_reports_clock_skew_with_the_offset(world: World) -> None:
    world.sim.set_fault(2001, "clock_skew")
    world.sim.server.time_offset_ms = 1_234
    client = world.client()
    err = await _status_of(client, world.sub.credential())
    assert err.status == "clock_skew" and err.clock_offset_ms == 1_234
    assert "1234 ms" in str(err)
    assert world.sim.counters.endpoints["GET /api/v1/user/api-key"] == 2  # one retry only


async def test_a_429_waits_as_the_reset_header_says_then_succeeds(world: World) -> None:
    client = world.client()
    cred = world.master.credential()
    for _ in range(100):  # VIP0: 2000 points, 20 each
        await client.api_key_info(cred)
    budget = client.rate_limit_for(cred)
    assert budget is not None and budget.remaining == 0 and budget.limit == 2000
    world.clock.now += 10_000  # 20 s left in the window
    info = await client.api_key_info(cred)
    assert info.uid == 1001
    assert world.sim.counters.rate_limited == 1
    assert world.clock.sleeps == [pytest.approx(20.05)]
    after = client.rate_limit_for_uid(1001)
    assert after is not None and after.remaining == 1980


async def test_a_reset_longer_than_the_allowed_wait_reports_rate_limited_at_once(
    world: World,
) -> None:
    world.sim.set_fault(2001, "rate_limit")
    client = world.client(max_rate_wait=60)
    err = await _status_of(client, world.sub.credential())
    assert err.status == "rate_limited" and err.rate_limit_reset_ms == 120_000
    assert world.clock.sleeps == []


async def test_create_verify_delete_a_sub_account_key(world: World) -> None:
    client = world.client()
    master = world.master.credential()
    created = await client.create_sub_api_key(
        master,
        sub_name="bot1",
        passphrase=Secret("Rotate-me-1"),
        remark="rot-42",
        permission="General,Spot",
        ip_whitelist="127.0.0.1",
        expire=90,
    )
    assert "Rotate" not in repr(created)
    new = Credential(created.api_key, created.api_secret, created.passphrase, created.api_version)
    info = await client.api_key_info(new)
    assert info.remark == "rot-42" and info.permissions == ("General", "Spot")
    listed = await client.sub_api_keys(master, "bot1")
    assert created.api_key.reveal() in {k.api_key for k in listed}
    assert world.sim.key(created.api_key.reveal()).expire_days == 90  # type: ignore[union-attr]
    updated = await client.update_sub_api_key(
        master,
        sub_name="bot1",
        api_key=created.api_key.reveal(),
        passphrase=created.passphrase,
        permission="General",
    )
    assert updated["permission"] == "General"
    await client.delete_sub_api_key(
        master, sub_name="bot1", api_key=created.api_key.reveal(), passphrase=created.passphrase
    )
    err = await _status_of(client, new)
    assert err.status == "invalid_key"


async def test_create_checks_its_input_before_sending(world: World) -> None:
    client = world.client()
    with pytest.raises(UsageError, match="7 to 32"):
        await client.create_sub_api_key(
            world.master.credential(), sub_name="bot1", passphrase=Secret("short"), remark="r"
        )
    assert world.sim.counters.requests == 0


async def test_nothing_secret_is_logged_or_raised_on_a_failed_delete(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = world.client()
    wrong = Secret("Secret-pass-77!")
    with pytest.raises(KucoinError) as caught:
        await client.delete_sub_api_key(
            world.master.credential(), sub_name="bot1", api_key=world.sub.api_key, passphrase=wrong
        )
    text = caplog.text + str(caught.value) + repr(caught.value)
    for value in (
        "Secret-pass-77",
        world.sub.api_key,
        world.master.api_key,
        world.master.api_secret,
    ):
        assert value not in text
    assert caught.value.http_status == 400


async def test_the_pool_shares_one_client_per_api_url(world: World) -> None:
    pool = ClientPool(transport=world.sim.transport(), clock=world.clock)
    a = pool.get("https://api.kucoin.com/")
    assert pool.get("https://api.kucoin.com") is a
    assert pool.get("https://api.kucoin.tr") is not a
    assert (await a.api_key_info(world.sub.credential())).uid == 2001
    await pool.aclose()
    with pytest.raises(KucoinError):
        await a.api_key_info(world.sub.credential())


async def test_user_info_and_accounts(world: World) -> None:
    client = world.client()
    summary = await client.user_info(world.master.credential())
    assert summary["level"] == 0 and summary["subQuantity"] == 1
    rows = await client.accounts(world.sub.credential())
    assert {r["currency"] for r in rows} == {"USDT", "BTC"}
    assert await client.server_time() == int(world.clock.now)


async def test_failed_auth_headers_are_filed_under_the_public_pool(world: World) -> None:
    client = world.client()
    cred = world.sub.credential()
    await client.api_key_info(cred)
    await client.api_key_info(cred)
    with pytest.raises(KucoinApiError):
        await client.api_key_info(_with(cred, passphrase=Secret("Not-the-one1")))
    budget = client.rate_limit_for(cred)
    assert budget is not None and budget.remaining == 1960  # the key's Management pool
    public = client.public_rate_limit
    assert public is not None and public.limit == 2000
    await client.aclose()


async def test_a_v3_key_stored_as_v2_still_works(world: World) -> None:
    client = world.client()
    info = await client.api_key_info(_with(world.sub.credential(), api_version=2))
    assert info.api_version == 3
    await client.aclose()
