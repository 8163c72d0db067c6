"""Issue 14, as lazygit and k9s users expect of the keys table: "failing only", ``status:`` and
``perm:`` filter terms, jumping to the next failing key, sorting by any column, and an outage that
keeps each key's last definite status (stale) in the table and the tree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kutui.demo import Demo
from kutui.model import Status
from kutui.ops.checks import failing
from kutui.store.history import HistoryEntry
from kutui.tui.app import KutuiApp
from kutui.tui.widgets.keys_table import KeysTable

from .conftest import make_app, settle, until

SIZE = (120, 40)


def _table(app: KutuiApp) -> KeysTable:
    return app.screen.query_one(KeysTable)


def _statuses(app: KutuiApp) -> list[Status]:
    out = []
    for key_id in _table(app).shown_ids:
        key = app.key_by_id(key_id)
        assert key is not None
        out.append(key.status)
    return out


def _headers(app: KutuiApp) -> list[str]:
    return [str(c.label) for c in _table(app).columns.values()]


async def test_failing_only_hides_healthy_keys_and_says_so_in_the_header(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        everything = _statuses(app)
        assert Status.OK in everything and any(failing(s) for s in everything)
        await pilot.press("F")
        await pilot.pause()
        shown = _statuses(app)
        assert shown and all(failing(s) for s in shown)
        assert len(shown) == sum(failing(s) for s in everything)
        assert any("failing" in h for h in _headers(app))
        await pilot.press("F")
        await pilot.pause()
        assert _statuses(app) == everything
        assert not any("failing" in h for h in _headers(app))


async def test_status_and_perm_terms_filter_and_combine_with_text(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"status:bad_passphrase", "enter")
        await settle(pilot, app)
        assert _statuses(app) and set(_statuses(app)) == {Status.BAD_PASSPHRASE}
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"status:failing", "enter")
        await settle(pilot, app)
        assert _statuses(app) and all(failing(s) for s in _statuses(app))
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"perm:futures", "enter")
        await settle(pilot, app)
        ids = _table(app).shown_ids
        assert ids
        for key_id in ids:
            key = app.key_by_id(key_id)
            assert key is not None and "Futures" in key.permissions_seen
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"perm:general alpha", "enter")
        await settle(pilot, app)
        ids = _table(app).shown_ids
        assert ids
        for key_id in ids:
            key = app.key_by_id(key_id)
            assert key is not None and "General" in key.permissions_seen
            assert "alpha" in str(key.ref)


async def test_bracket_jumps_to_the_next_and_previous_failing_key(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        statuses = _statuses(app)
        bad = [i for i, s in enumerate(statuses) if failing(s)]
        assert len(bad) >= 2
        table = _table(app)
        await pilot.press("g", "right_square_bracket")
        await pilot.pause()
        first = table.cursor_row
        assert first == next(i for i in bad if i > 0) if not failing(statuses[0]) else bad[1]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        second = table.cursor_row
        assert second in bad and second > first
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert table.cursor_row == first
        main = app.main
        assert main is not None and main.selected_key is not None
        assert failing(main.selected_key.status)


async def test_o_sorts_by_each_column_and_O_reverses_shown_in_the_header(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        await pilot.press("o")  # the first column: Key
        await pilot.pause()
        refs = [str(app.key_by_id(i).ref) for i in _table(app).shown_ids]  # type: ignore[union-attr]
        assert [r.lower() for r in refs] == sorted(r.lower() for r in refs)
        assert _headers(app)[0].endswith("▲")
        await pilot.press("o")  # Status: by severity, failing first
        await pilot.pause()
        severities = [s.severity for s in _statuses(app)]
        assert severities == sorted(severities, reverse=True) and severities[0] > 0
        assert _headers(app)[1].endswith("▲") and not _headers(app)[0].endswith("▲")
        await pilot.press("O")
        await pilot.pause()
        severities = [s.severity for s in _statuses(app)]
        assert severities == sorted(severities)
        assert _headers(app)[1].endswith("▼")


async def test_an_outage_keeps_the_last_definite_status_stale_in_table_and_tree(
    demo: Demo,
) -> None:
    app = make_app(demo)
    key = next(d.key for d in demo.keys if d.key.ref.label == "scalper")
    now = demo.clock.now()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.history[key.id] = [
            HistoryEntry(now - timedelta(hours=3), Status.BAD_PASSPHRASE),
            HistoryEntry(now - timedelta(minutes=5), Status.UNREACHABLE),
        ]
        stored = app.key_by_id(key.id)
        assert stored is not None and stored.last_check is not None
        stored.last_check = stored.last_check.__class__(
            status=Status.UNREACHABLE, checked_at=now - timedelta(minutes=5)
        )
        main = app.main
        assert main is not None
        main.reload()
        await pilot.pause()
        await pilot.press("slash", *"scalper", "enter")
        await settle(pilot, app)
        table = _table(app)
        cell = str(table.get_cell(key.id, "status"))
        assert "BAD PASSPHRASE" in cell and "stale" in cell.lower()
        assert "UNREACHABLE" not in cell
        # The tree marks it alike: scalper is alpha's only bad passphrase, so alpha and its
        # sub-account show that status, stale; the root's badge (bravo/mm-1/legacy's invalid
        # key) comes from a fresh result and is not marked.
        tree = main.account_tree
        labels = {
            ref.path: str(node.label)
            for ref, node in tree._by_ref.items()  # noqa: SLF001 - the labels drawn
            if ref.holds(stored)
        }
        assert set(labels) == {"", "alpha", "alpha/bot-spot"}
        assert not any("UNREACHABLE" in label for label in labels.values())
        assert labels["alpha/bot-spot"].endswith("✗ BAD PASSPHRASE stale")
        assert labels["alpha"].endswith("✗ BAD PASSPHRASE stale")
        assert labels[""].endswith("✗ INVALID KEY")
        # The mark goes once a definite result comes back.
        app.history[key.id].append(HistoryEntry(now, Status.BAD_PASSPHRASE))
        stored.last_check = stored.last_check.__class__(
            status=Status.BAD_PASSPHRASE, checked_at=now
        )
        tree.refresh_labels(app.registry, app.theme_colors, [stored])
        await pilot.pause()
        bot_spot = next(n for r, n in tree._by_ref.items() if r.path == "alpha/bot-spot")  # noqa: SLF001
        assert str(bot_spot.label).endswith("✗ BAD PASSPHRASE")


async def test_a_new_sort_starts_at_the_top(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("l", "G")
        await pilot.pause()
        table = _table(app)
        assert table.cursor_row > 0
        await pilot.press("o")
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("j", "O")
        await pilot.pause()
        assert table.cursor_row == 0


async def test_permissions_are_letters_the_help_explains(demo: Demo) -> None:
    from kutui.tui.screens.help import SSH_HELP
    from kutui.tui.widgets.keys_table import PERMISSION_CODES

    app = make_app(demo)
    key = next(d.key for d in demo.keys if d.key.ref.label == "perp-2")  # Futures: drift
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"perp-2", "enter")
        await settle(pilot, app)
        cell = str(_table(app).get_cell(key.id, "permissions"))
        assert cell == "GSF ≠DRIFT"
    for name, code in PERMISSION_CODES.items():
        assert f"`{code}` {name}" in SSH_HELP
    assert len(set(PERMISSION_CODES.values())) == len(PERMISSION_CODES)


def test_columns_give_up_width_key_first_and_a_ref_keeps_its_end() -> None:
    from rich.console import Console

    from kutui.tui.widgets.keys_table import TailText, fit_widths

    natural = {
        "label": 24,
        "status": 16,
        "age": 8,
        "expiry": 10,
        "fingerprint": 4,
        "permissions": 10,
        "ip": 13,
        "checked": 7,
    }
    fitted = fit_widths(natural, 71)
    assert sum(fitted.values()) == 71
    assert (fitted["label"], fitted["ip"], fitted["permissions"]) == (12, 8, 6)
    assert all(fitted[c] == natural[c] for c in ("status", "age", "expiry", "checked"))
    assert fit_widths(natural, 200) == natural == fit_widths(natural, 0)  # 0: not laid out
    # Far too narrow: the cut columns stop at their floors (never narrower than the title).
    assert fit_widths(natural, 10)["permissions"] == len("Perm")
    console = Console(width=40)
    options = console.options.update(width=10, no_wrap=True)  # as DataTable renders a cell
    (line,) = console.render_lines(TailText("alpha/bot-futures/perp-2"), options)
    assert "".join(segment.text for segment in line) == "…es/perp-2"


async def test_a_resized_terminal_refits_the_columns(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        table = _table(app)
        assert len(table.shown_ids) == 40  # the root: every key, the longest refs
        label = table.columns[next(iter(table.columns))]
        wide = label.content_width
        assert wide == max(len(str(app.key_by_id(i).ref)) for i in table.shown_ids)  # type: ignore[union-attr]
        await pilot.resize_terminal(120, 40)
        await settle(pilot, app)
        assert label.content_width < wide and table.max_scroll_x == 0
        await pilot.resize_terminal(200, 50)
        await settle(pilot, app)
        assert label.content_width == wide


async def test_the_table_fills_even_when_the_screen_never_reports_its_refresh(
    demo: Demo, monkeypatch: Any
) -> None:
    # A node of more keys than the first rows: the rest come in chunks once the screen has
    # drawn. call_after_refresh can lose its callback (it queues on the screen current when
    # handled); the table must not stop at its first rows then.
    from kutui.tui.widgets import keys_table

    monkeypatch.setattr(keys_table, "FIRST_ROWS", 5)
    monkeypatch.setattr(keys_table, "CHUNK_ROWS", 7)
    monkeypatch.setattr(KeysTable, "call_after_refresh", lambda self, *a, **k: True)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = _table(app)
        await until(pilot, lambda: not table.filling)
        assert table.row_count == len(table.shown_ids) == len(demo.keys)
