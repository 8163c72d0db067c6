"""What a check's results redraw (kutui/tui/widgets/keys_table.py drops only the rewritten rows'
cached cells; kutui/tui/widgets/detail.py redraws a section only when its text changed): the
screen still shows every new result, never a line cached before it."""

from __future__ import annotations

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.demo import Demo
from kutui.model import CheckResult, Status
from kutui.tui.widgets.detail import KeyDetail
from kutui.tui.widgets.keys_table import COLUMNS
from tests.tui.conftest import NOW, FakeChecker, make_app, ready, until

SIZE = (140, 45)
STATUS = [name for name, _title in COLUMNS].index("status")


async def test_rows_in_sight_show_the_results_after_a_check(fresh_demo: Demo) -> None:
    app = make_app(fresh_demo, checker=FakeChecker(fresh_demo))
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        table = main.table
        table.focus()
        await pilot.pause()
        before = [table.render_line(y).text for y in range(1, 12)]  # cached as unchecked
        await pilot.press("C")
        await until(pilot, lambda: not main.checking)
        await pilot.pause()
        expected = {d.key.id: d.expected_status for d in fresh_demo.keys}
        lines = [table.render_line(y).text for y in range(1, 12)]
        assert lines != before
        for row, line in enumerate(lines):
            key_id = table.shown_ids[row]
            key = app.key_by_id(key_id)
            assert key is not None and key.status is expected[key_id]
            status = str(table.get_row(key_id)[STATUS]).strip()
            assert status and status[:6] in line, (line, status)
        # A second result for a row in sight, its column already wide enough: only that row's
        # cache is dropped, and it shows the new status.
        first = app.key_by_id(table.shown_ids[0])
        assert first is not None
        again = Status.FROZEN if first.status is not Status.FROZEN else Status.OK
        target = CheckTarget(first.id, first.ref, "http://x", None)
        main.flush_results([CheckEvent(target, CheckResult(again, NOW), 1, 1)])
        await pilot.pause()
        line = table.render_line(1).text
        status = str(table.get_row(first.id)[STATUS]).strip()
        assert again.value[:5] in status.lower().replace(" ", "_")
        assert status[:6] in line, (line, status)
        assert [table.render_line(y).text for y in range(2, 12)] == lines[1:]


async def test_the_detail_pane_follows_the_cursor_whatever_it_cached(fresh_demo: Demo) -> None:
    app = make_app(fresh_demo, checker=FakeChecker(fresh_demo))
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        main.table.focus()
        await pilot.pause()
        detail = main.query_one(KeyDetail)
        await pilot.press("C")
        await until(pilot, lambda: not main.checking)
        for _ in range(6):
            await pilot.press("j")
            await pilot.pause()
            key = main.selected_key
            assert key is not None
            summary = detail.query_one("#detail-summary")
            shown = "\n".join(s.text for s in summary.render_lines(summary.region.reset_offset))
            assert str(key.ref) in shown
            history = detail.query_one("#detail-history")
            # The history grew from nothing to one check: its section was laid out again.
            assert history.region.height >= 1
