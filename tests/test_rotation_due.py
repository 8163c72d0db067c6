"""The rotation-due rule (``kutui.model.rotation_due``), the one the audit uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kutui.model import ApiKey, KeyRef, rotation_due

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def key(age_days: float | None, *, added: bool = False) -> ApiKey:
    when = None if age_days is None else NOW - timedelta(days=age_days)
    return ApiKey("k", KeyRef("main", "", "bot"), created_at=None if added else when, added_at=when)


def test_old_key_is_due_with_a_clear_message() -> None:
    due = rotation_due(key(120), 90, NOW)
    assert due is not None and due.age_days == 120
    assert due.message == "key is 120 days old; rotate it (policy: at most 90 days)"


def test_added_at_counts_when_created_is_unknown() -> None:
    assert rotation_due(key(91, added=True), 90, NOW)


def test_unknown_age_and_disabled_policy_are_never_due() -> None:
    assert rotation_due(key(None), 90, NOW) is None
    assert rotation_due(key(1000), 0, NOW) is None


@given(st.floats(min_value=0, max_value=2000), st.integers(min_value=1, max_value=1000))
def test_due_exactly_when_older_than_policy(age: float, max_days: int) -> None:
    due = rotation_due(key(age), max_days, NOW)
    k = key(age)
    assert k.created_at is not None
    assert (due is not None) == (NOW - k.created_at > timedelta(days=max_days))
