"""Drive the main screen with the keyboard alone; assert what changed on screen and on disk."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from textual.widgets import Input, Label, Static

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.demo import Demo
from kutui.model import CheckResult, Status
from kutui.tui.screens.main import MainScreen
from kutui.tui.widgets.account_tree import NodeRef
from kutui.tui.widgets.keys_table import KeysTable

from .conftest import NOW, FakeChecker, make_app, ready, until

SIZE = (120, 40)


async def test_startup_shows_every_account_and_key(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        table = main.query_one(KeysTable)
        assert table.row_count == 40
        labels = {str(n.label).split(" ")[0] for n in main.account_tree.root.children}
        assert labels == {"alpha", "bravo", "charlie"}
        # The root's label carries the count and the worst status as words.
        root_label = str(main.account_tree.root.label)
        assert "40" in root_label and "INVALID KEY" in root_label


async def test_tree_selection_limits_the_table(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("j")  # alpha
        assert main.node == NodeRef("alpha")
        assert main.query_one(KeysTable).row_count == 16
        await pilot.press("j")  # alpha/bot-spot
        assert main.node == NodeRef("alpha", "bot-spot")
        table = main.query_one(KeysTable)
        assert table.row_count == 5
        assert str(table.get_row_at(0)[0]) == "grid-1"  # labels relative to the node


async def test_vim_keys_move_in_the_table(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("l")
        table = main.query_one(KeysTable)
        assert table.has_focus
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 39
        await pilot.press("g")
        assert table.cursor_row == 0
        # Moving the cursor fills the detail pane for that key.
        await pilot.press("j")
        assert main.selected_key is not None
        assert main.selected_key.ref.label == "backup"
        await pilot.press("h")
        assert main.account_tree.has_focus


async def test_slash_filters_and_escape_clears(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("slash")
        assert main.query_one("#filter", Input).has_focus
        await pilot.press(*"passphrase")
        await pilot.pause(0.3)
        table = main.query_one(KeysTable)
        assert table.row_count == 2
        assert {str(table.get_row_at(i)[0]) for i in range(2)} == {
            "alpha/bot-spot/scalper",
            "charlie/ops",
        }
        await pilot.press("enter", "escape")
        assert table.row_count == 40
        assert main.query_text == ""


async def test_c_checks_the_selected_key_only(demo: Demo) -> None:
    checker = FakeChecker(demo)
    app = make_app(demo, checker=checker)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("l", "j", "c")
        await app.workers.wait_for_complete()
        assert checker.seen == ["demo0002"]
        assert main.selected_key is not None and main.selected_key.id == "demo0002"


async def test_c_on_a_node_checks_its_keys(demo: Demo) -> None:
    checker = FakeChecker(demo)
    app = make_app(demo, checker=checker)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "j", "c")  # tree: alpha/bot-spot
        await app.workers.wait_for_complete()
        assert len(checker.seen) == 5


async def test_check_all_updates_rows_and_saves(fresh_demo: Demo) -> None:
    checker = FakeChecker(fresh_demo)
    app = make_app(fresh_demo, checker=checker)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        table = main.query_one(KeysTable)
        assert all("UNCHECKED" in str(table.get_row_at(i)[1]) for i in range(40))
        await pilot.press("C")
        await app.workers.wait_for_complete()
        await pilot.pause()
        badges = Counter(str(table.get_row_at(i)[1]) for i in range(40))
        # Columns grew to fit the new badges (they were sized for "· UNCHECKED").
        status_column = table.ordered_columns[table.get_column_index("status")]
        assert status_column.content_width >= len("✗ BAD PASSPHRASE")
        assert badges["✗ BAD PASSPHRASE"] == 2
        assert badges["! RATE LIMITED"] == 4
        assert "UNCHECKED" not in " ".join(badges)
        assert "INVALID KEY" in str(main.account_tree.root.label)
        # The overview (root selected) is redrawn when the check ends.
        counts = str(main.query_one("#overview-counts", Static).render())
        assert "BAD PASSPHRASE" in counts and "UNCHECKED" not in counts
        app.save_results_soon(force=True)
        await app.workers.wait_for_complete()
    on_disk = Counter(k.status for k in fresh_demo.home.registry().keys)
    assert on_disk[Status.OK] == 27 and on_disk[Status.UNREACHABLE] == 4
    history = fresh_demo.home.histories()
    assert len(history) == 40


async def test_escape_cancels_a_running_check(fresh_demo: Demo) -> None:
    # Five answers, then the run waits: still running whenever escape arrives (a fixed sleep
    # before escape raced the run's end on a loaded machine).
    checker = FakeChecker(fresh_demo, hold_after=5)
    app = make_app(fresh_demo, checker=checker)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await ready(pilot, app)
        await pilot.press("C")
        progress = main.query_one("#progress")
        counts = main.query_one("#check-counts", Label)
        # The 5 results reach the screen although the engine then waits (in_thread hands over
        # what it has every FLUSH_EVERY).
        await until(
            pilot,
            lambda: progress.has_class("-running") and str(counts.render()).startswith(" 5/40"),
        )
        assert main.checking
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not _checking(main)
        assert not progress.has_class("-running")
        assert len(checker.seen) == 5
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Cancelled: 5 of 40 keys checked") for m in messages), messages


def _checking(main: MainScreen) -> bool:
    return main.checking


async def test_q_quits(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_q_writes_results_not_saved_yet(fresh_demo: Demo) -> None:
    from kutui.model import CheckResult

    from .conftest import NOW

    app = make_app(fresh_demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app._saved_at = float("inf")  # the periodic save would not run for a long time
        app.record_result("demo0003", CheckResult(status=Status.FROZEN, checked_at=NOW))
        await pilot.press("q")
        await pilot.pause()
    stored = fresh_demo.home.registry().key_by_id("demo0003")
    assert stored is not None and stored.status is Status.FROZEN


async def test_two_runs_before_one_save_are_two_history_entries(fresh_demo: Demo) -> None:
    """Results wait for a save in order, so a second run before the save keeps the first."""
    from datetime import timedelta

    from kutui.model import CheckResult

    from .conftest import NOW

    app = make_app(fresh_demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app._saved_at = float("inf")  # no periodic save in between
        app.record_result("demo0003", CheckResult(status=Status.FROZEN, checked_at=NOW))
        later = NOW + timedelta(seconds=1)
        app.record_result("demo0003", CheckResult(status=Status.IP_DENIED, checked_at=later))
        await pilot.press("q")
        await pilot.pause()
    stored = [entry.status for entry in fresh_demo.home.history("demo0003")]
    assert stored[-2:] == [Status.FROZEN, Status.IP_DENIED]


async def test_a_tui_check_teaches_the_registry_what_the_cli_check_does(demo: Demo) -> None:
    """One rule (kutui/store/learn.py): an OK answer's remark and uid are learned on screen and
    on disk, and a key left unchecked (no request sent) keeps the result it had."""
    keys = demo.home.registry().keys
    master = next(k for k in keys if not k.ref.sub)
    other = next(k for k in keys if k.id != master.id and k.last_check is not None)
    before = other.last_check

    async def checker(targets: Sequence[CheckTarget], **_: Any) -> AsyncIterator[CheckEvent]:
        answers = {
            master.id: CheckResult(Status.OK, NOW, remark="learned remark", uid=424242),
            other.id: CheckResult(Status.UNCHECKED, NOW),
        }
        for done, target in enumerate(targets, 1):
            result = answers.get(target.key_id, CheckResult(Status.OK, NOW))
            yield CheckEvent(target=target, result=result, done=done, total=len(targets))

    app = make_app(demo, checker=checker)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("C")
        await app.workers.wait_for_complete()
        shown = app.key_by_id(master.id)
        assert shown is not None and shown.remark == "learned remark"
        kept = app.key_by_id(other.id)
        assert kept is not None and kept.last_check == before
        app.save_results_soon(force=True)
        await app.workers.wait_for_complete()
    registry = demo.home.registry()
    account = registry.account(master.ref.account)
    assert account is not None and account.uid == 424242
    saved = registry.key_by_id(other.id)
    assert saved is not None and saved.last_check == before
