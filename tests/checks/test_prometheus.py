"""The textfile renderer alone: whatever the names, statuses and dates, prometheus_client's own
parser reads back exactly one ``up`` and one current status per key, with the labels intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from kutui.checks.prometheus import render
from kutui.model import ApiKey, CheckResult, KeyRef, Status

# Registry names are validated (model.valid_name), but the renderer must not rely on it: quotes,
# backslashes, newlines and non-ASCII are escaped or passed as the format says.
NAMES = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=12,
)
WHEN = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@st.composite
def rows(draw: st.DrawFn) -> list[tuple[ApiKey, CheckResult]]:
    count = draw(st.integers(min_value=0, max_value=8))
    out = []
    for i in range(count):
        ref = KeyRef(draw(NAMES), draw(st.one_of(st.just(""), NAMES)), f"{draw(NAMES)}{i}")
        created = draw(st.one_of(st.none(), WHEN))
        key = ApiKey(
            f"id{i}",
            ref,
            created_at=created,
            expire_days=draw(st.sampled_from([-1, 30, 90])),
        )
        out.append((key, CheckResult(draw(st.sampled_from(list(Status))), draw(WHEN))))
    return out


@settings(max_examples=60, deadline=None)
@given(rows(), WHEN)
def test_the_parser_reads_back_every_key(
    run: list[tuple[ApiKey, CheckResult]], finished: datetime
) -> None:
    text = render(run, finished=finished, duration_s=1.5)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    want = {str(k.ref): (k, r) for k, r in run}
    up = families["kutui_key_up"].samples
    assert len(up) == len(run)
    for sample in up:
        key, result = want[sample.labels["ref"]]
        assert sample.labels["account"] == key.ref.account
        assert sample.labels["sub"] == key.ref.sub
        assert sample.value == (1.0 if result.status is Status.OK else 0.0)
        assert sample.timestamp is None
    current = [s for s in families["kutui_key_status"].samples if s.value == 1.0]
    assert sorted((s.labels["ref"], s.labels["status"]) for s in current) == sorted(
        (ref, r.status.value) for ref, (_, r) in want.items()
    )
    expiry = {
        s.labels["ref"]: s.value for s in families["kutui_key_expiry_timestamp_seconds"].samples
    }
    for ref, (key, _) in want.items():
        expires = key.expires_at()
        assert expiry.get(ref) == (expires.timestamp() if expires else None)
    ages = {s.labels["ref"]: s.value for s in families["kutui_key_age_seconds"].samples}
    for ref, (key, _) in want.items():
        age = key.age(finished)
        assert ages.get(ref) == (age / timedelta(seconds=1) if age is not None else None)
    totals = sum(s.value for s in families["kutui_check_keys"].samples)
    assert totals == len(run)
