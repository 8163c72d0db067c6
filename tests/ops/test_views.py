"""kutui/ops/views.py: the keys table's filter terms, sort orders and outage rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kutui.model import NOT_DEFINITE, PERMISSIONS, ApiKey, CheckResult, KeyRef, Status
from kutui.ops import views
from kutui.ops.checks import failing
from kutui.store.history import HistoryEntry

T0 = datetime(2030, 1, 1, tzinfo=UTC)

labels = st.text(alphabet="abcxyz-", min_size=1, max_size=6)


@st.composite
def api_keys(draw: st.DrawFn) -> ApiKey:
    status = draw(st.sampled_from(list(Status)))
    number = draw(st.integers(0, 10**6))
    return ApiKey(
        f"k{number}",
        KeyRef("acct", "", f"{draw(labels)}{number}"),
        fingerprint=draw(st.text(alphabet="0123456789abcdef", min_size=4, max_size=4)),
        created_at=draw(st.none() | st.integers(0, 900).map(lambda d: T0 - timedelta(days=d))),
        expire_days=draw(st.sampled_from([-1, 30, 90])),
        permissions_seen=tuple(draw(st.sets(st.sampled_from(PERMISSIONS), max_size=3))),
        last_check=None
        if status is Status.UNCHECKED
        else CheckResult(status, T0 - timedelta(minutes=draw(st.integers(0, 999)))),
    )


key_lists = st.lists(api_keys(), max_size=25, unique_by=lambda k: k.id)


@given(api_keys(), st.sampled_from(list(Status)))
def test_an_outage_shows_the_last_definite_status_as_stale(key: ApiKey, before: Status) -> None:
    history = [HistoryEntry(T0 - timedelta(hours=1), before), HistoryEntry(T0, key.status)]
    status, stale = views.shown_status(key, history)
    if key.status in NOT_DEFINITE and before not in NOT_DEFINITE:
        assert (status, stale) == (before, True)
    else:
        assert (status, stale) == (key.status, False)


@given(key_lists, st.sampled_from(["failing", *(s.value for s in Status)]))
def test_status_terms_keep_exactly_the_keys_in_that_status(keys: list[ApiKey], value: str) -> None:
    shown = [k for k in keys if views.matches(k, views.parse_query(f"status:{value}"))]
    wanted = [
        k for k in keys if (failing(k.status) if value == "failing" else value in k.status.value)
    ]
    assert shown == wanted


@given(
    key_lists,
    st.sampled_from(["", "  ", "x", "status:ok", "perm:spot", "status:failing acct"]),
    st.booleans(),
)
def test_only_a_query_that_keeps_every_key_says_it_matches_all(
    keys: list[ApiKey], text: str, failing_only: bool
) -> None:
    # The keys table skips matching when a query says it matches all (KeysTable.show).
    query = views.parse_query(text, failing_only=failing_only)
    assert query.matches_all == (not text.strip() and not failing_only)
    if query.matches_all:
        assert all(views.matches(k, query) for k in keys)


@given(key_lists, st.sampled_from(PERMISSIONS), st.booleans())
def test_perm_terms_and_failing_only_combine(
    keys: list[ApiKey], perm: str, failing_only: bool
) -> None:
    query = views.parse_query(f"perm:{perm.lower()}", failing_only=failing_only)
    shown = [k for k in keys if views.matches(k, query)]
    assert shown == [
        k
        for k in keys
        if any(perm.lower() in p.lower() for p in k.permissions_seen)
        and (failing(k.status) or not failing_only)
    ]


@given(key_lists, st.sampled_from(views.SORT_COLUMNS), st.booleans())
def test_sorting_keeps_every_key_and_reversing_flips_it(
    keys: list[ApiKey], column: str, reverse: bool
) -> None:
    ordered = views.sort_keys(keys, column)
    assert sorted(k.id for k in ordered) == sorted(k.id for k in keys)
    assert views.sort_keys(keys, column, reverse=True) == ordered[::-1]
    if column == "status":  # severity: the worst first
        severities = [k.status.severity for k in ordered]
        assert severities == sorted(severities, reverse=True)


@given(key_lists, st.integers(0, 30), st.sampled_from([1, -1]))
def test_next_failing_finds_the_nearest_failing_key_going_round(
    keys: list[ApiKey], start: int, step: int
) -> None:
    index = views.next_failing(keys, start, step=step)
    bad = [i for i, k in enumerate(keys) if failing(k.status)]
    if not bad:
        assert index is None
        return
    assert index is not None and index in bad
    count = len(keys)
    between = [(start + step * n) % count for n in range(1, (index - start) * step % count)]
    assert not any(i in bad for i in between)
