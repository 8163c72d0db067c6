"""Each key's stored results are read when its detail is shown, not all at start: kutui.db keeps
50 per key, so a cron check every hour made the first screen of 10,000 keys read half a million
rows (2.5 s, bench/yardstick.py). The lists still show an outage key's last definite status,
however far back it is, and a result of this session shows once, saved or not."""

from __future__ import annotations

from datetime import timedelta

from kutui.demo import Demo
from kutui.model import CheckResult, Status
from kutui.tui.app import KutuiApp
from kutui.tui.state import HISTORY_LENGTH, TuiState

from .conftest import make_app, settle

SIZE = (120, 40)


def _key_id(demo: Demo, label: str) -> str:
    return next(d.key.id for d in demo.keys if d.key.ref.label == label)


def _history_text(app: KutuiApp) -> str:
    return str(app.screen.query_one("#detail-history").render())


async def test_the_detail_reads_the_keys_stored_results_and_an_outage_keeps_an_old_status(
    demo: Demo,
) -> None:
    now = demo.clock.now()
    scalper, other = _key_id(demo, "scalper"), _key_id(demo, "funding")
    start = now - timedelta(hours=40)
    # scalper: a bad passphrase, then 30 outages (more than the TUI keeps per key on screen);
    # funding: 30 hourly results, the newest a minute apart from the next.
    results = [(scalper, CheckResult(Status.BAD_PASSPHRASE, start))]
    results += [
        (scalper, CheckResult(Status.UNREACHABLE, start + timedelta(hours=n))) for n in range(1, 31)
    ]
    results += [(other, CheckResult(Status.OK, start + timedelta(hours=n))) for n in range(30)]
    demo.home.record_results(results)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # Nothing of funding's 30 results is read until its detail is shown.
        assert other not in app.history
        table = app.main.table if app.main else None
        assert table is not None
        cell = str(table.get_cell(scalper, "status"))
        assert "BAD PASSPHRASE" in cell and "stale" in cell.lower()
        await pilot.press("slash", *"funding", "enter")
        await settle(pilot, app)
        await pilot.press("l")
        await settle(pilot, app)
        assert table.selected_key_id == other
        shown = _history_text(app)
        newest, eleventh = start + timedelta(hours=29), start + timedelta(hours=19)
        assert f"{newest:%Y-%m-%d %H:%M}" in shown
        assert f"{eleventh:%Y-%m-%d %H:%M}" not in shown  # the detail lists the last ten
        assert shown.count("\n") == 9


def test_a_result_of_this_session_shows_once_whether_saved_or_not(demo: Demo) -> None:
    home, key_id = demo.home, _key_id(demo, "funding")
    now = demo.clock.now()
    state = TuiState()
    state.loaded_from(home.registry(), {}, {}, [])
    stored = home.history(key_id)
    state.record(key_id, CheckResult(Status.OK, now + timedelta(minutes=1)))
    unsaved = state.history_of(key_id, home.history)
    assert unsaved[-1].checked_at == now + timedelta(minutes=1)
    assert len(unsaved) == min(len(stored) + 1, HISTORY_LENGTH)
    home.record_results(state.take_unsaved())
    state.record(key_id, CheckResult(Status.IP_DENIED, now + timedelta(minutes=2)))
    # A new load reads the stored results again: the saved one is there once.
    state.loaded_from(home.registry(), {key_id: list(state.history[key_id][-2:])}, {}, [])
    again = state.history_of(key_id, home.history)
    times = [entry.checked_at for entry in again]
    assert len(times) == len(set(times))
    assert times[-2:] == [now + timedelta(minutes=1), now + timedelta(minutes=2)]
    assert times == sorted(times)
