"""The one clock (kutui/clock.py): frozen, advancing and shifted readings, and the env shift."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kutui import clock as clockmod
from kutui.clock import SHIFT_ENV, Clock
from kutui.errors import UsageError
from kutui.model import now_utc

WHEN = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def fresh_process_clock() -> Iterator[None]:
    clockmod.reset()
    yield
    clockmod.reset()


def test_a_frozen_clock_never_moves() -> None:
    clock = Clock.frozen_at(WHEN)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() == first == WHEN
    assert clock.ms() == WHEN.timestamp() * 1000


def test_a_started_clock_advances_from_its_origin() -> None:
    clock = Clock.starting_at(WHEN)
    time.sleep(0.02)
    elapsed = clock.exact() - WHEN
    assert timedelta(milliseconds=15) <= elapsed < timedelta(seconds=5)


def test_shifted_moves_every_reading_and_leaves_the_original_alone() -> None:
    clock = Clock.frozen_at(WHEN)
    later = clock.shifted(timedelta(days=400))
    assert later.now() == WHEN + timedelta(days=400)
    assert later.ms() - clock.ms() == 400 * 86_400_000
    assert clock.now() == WHEN


def test_an_origin_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Clock.starting_at(datetime(2026, 1, 1))


@pytest.mark.usefixtures("fresh_process_clock")
def test_the_process_clock_follows_the_shift_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHIFT_ENV, "400")
    real = datetime.now(UTC)
    shifted = now_utc()
    assert timedelta(days=399) < shifted - real < timedelta(days=401)


@pytest.mark.usefixtures("fresh_process_clock")
@pytest.mark.parametrize("value", ["soon", "nan", "1e9", "inf"])
def test_a_bad_shift_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(SHIFT_ENV, value)
    with pytest.raises(UsageError, match=SHIFT_ENV):
        clockmod.current()
