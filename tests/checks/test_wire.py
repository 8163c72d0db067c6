"""The check engine's wire format (kutui/checks/wire.py): every field of a result, a target and
its credential comes back as it went."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from kutui.checks import wire
from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.model import CheckResult, Credential, KeyRef, Status
from kutui.secret import Secret
from kutui.store.config import ChecksConfig

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
WHEN = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=ZONES)
TEXT = st.text(max_size=40)
SMALL = st.integers(min_value=-(2**53), max_value=2**53)

RESULTS = st.builds(
    CheckResult,
    status=st.sampled_from(list(Status)),
    checked_at=WHEN,
    code=TEXT,
    http_status=st.integers(min_value=0, max_value=599),
    message=TEXT,
    latency_ms=st.floats(allow_nan=False, allow_infinity=False),
    permissions=st.lists(TEXT, max_size=5).map(tuple),
    ip_whitelist=TEXT,
    api_version=st.none() | st.integers(min_value=1, max_value=3),
    uid=st.none() | SMALL,
    is_master=st.none() | st.booleans(),
    sub_name=TEXT,
    remark=TEXT,
    created_at=st.none() | WHEN,
    clock_offset_ms=st.none() | SMALL,
    rate_limit_reset_ms=st.none() | SMALL,
)


@given(RESULTS)
def test_every_field_of_a_result_round_trips(result: CheckResult) -> None:
    back = wire.result_from_wire(json.loads(json.dumps(wire.result_to_wire(result))))
    assert back == result
    assert type(back.permissions) is tuple
    assert back.checked_at.utcoffset() == result.checked_at.utcoffset()


def test_a_default_result_sends_only_its_status_and_time() -> None:
    result = CheckResult(Status.UNCHECKED, datetime(2026, 1, 5, tzinfo=UTC))
    assert set(wire.result_to_wire(result)) == {"status", "checked_at"}
    # is_master False is not its default (None): it is sent.
    assert (
        wire.result_to_wire(CheckResult(Status.OK, result.checked_at, is_master=False))["is_master"]
        is False
    )


CREDENTIALS = st.none() | st.builds(
    Credential,
    api_key=TEXT.map(Secret),
    api_secret=TEXT.map(Secret),
    passphrase=TEXT.map(Secret),
    api_version=st.integers(min_value=1, max_value=3),
    saved_at=st.none() | WHEN,
)
NAMES = st.text(alphabet="abcxyz019._@+-", min_size=1, max_size=8)
TARGETS = st.builds(
    CheckTarget,
    key_id=NAMES,
    ref=st.builds(KeyRef, NAMES, st.just("") | NAMES, NAMES),
    api_url=st.just("https://api.kucoin.com") | TEXT,
    credential=CREDENTIALS,
    pool_hint=st.just("") | NAMES,
)


@given(st.lists(TARGETS, max_size=5), st.floats(min_value=0.01, max_value=5))
def test_a_request_round_trips_settings_targets_and_credentials(
    targets: list[CheckTarget], every: float
) -> None:
    settings = ChecksConfig(concurrency=7, timeout_seconds=2.5, retries=3, max_rate_wait_seconds=9)
    got_settings, got_targets, got_every = wire.read_request(
        wire.request_line(settings, targets, every)
    )
    assert got_targets == targets
    assert (got_settings, got_every) == (settings, every)
    for sent, got in zip(targets, got_targets, strict=True):
        if sent.credential is not None:
            assert got.credential is not None
            assert got.credential.api_secret.reveal() == sent.credential.api_secret.reveal()


@given(st.lists(st.tuples(TARGETS, RESULTS), min_size=1, max_size=5))
def test_a_batch_names_targets_by_index_and_carries_no_credential(
    pairs: list[tuple[CheckTarget, CheckResult]],
) -> None:
    targets = [t for t, _ in pairs]
    events = [CheckEvent(t, r, i, len(pairs)) for i, (t, r) in enumerate(pairs, 1)]
    line = wire.batch_line(list(enumerate(events)))
    rows = json.loads(line)["batch"]
    assert [row[0] for row in rows] == list(range(len(pairs)))  # the index, not the target
    back = wire.read_batch(rows, targets)
    assert back == events
    assert all(b.target is t for b, t in zip(back, targets, strict=True))


def test_the_end_line_says_how_the_engine_ended() -> None:
    assert json.loads(wire.end_line()) == {"end": True}
    assert json.loads(wire.end_line(ValueError("broke"))) == {
        "error": {"type": "ValueError", "message": "broke"}
    }
