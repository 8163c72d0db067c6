"""The TUI's "Broken" list of issue 14, each reproduced as a new user met it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.coordinate import Coordinate

from kutui.demo import Demo
from kutui.rotation.checklist import State
from kutui.rotation.store import RotationStore
from kutui.tui.app import KutuiApp
from kutui.tui.screens.main import MainScreen

from .conftest import make_app, settle

SIZE = (120, 40)


def _rotations(demo: Demo) -> list[Any]:
    store = RotationStore(demo.home.paths.rotations_dir)
    return [store.load_path(p) for p in sorted(demo.home.paths.rotations_dir.glob("*.toml"))]


async def test_a_passphrase_typed_on_the_rotation_screen_never_aborts_it(demo: Demo) -> None:
    """alpha/admin, r, x, then a passphrase typed while focus is not in a text field, and enter:
    once ``a`` opened the abort box, the rest of the passphrase landed in it, and enter stored it
    as the abort reason."""
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("j", "l", "r")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RotationScreen"
        await pilot.press("x")
        await settle(pilot, app)
        assert "web UI" in str(app.screen.query_one("#rot-step-title").render())
        await pilot.press(*"Passphrase1sdx", "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RotationScreen"
        assert "web UI" in str(app.screen.query_one("#rot-step-title").render())
        shown = app.export_screenshot()
    assert "ssphrase1" not in shown
    (checklist,) = _rotations(demo)
    assert checklist.state is State.OPEN
    assert checklist.abort_reason == ""


# --------------------------------------------------------------------------- 2: $EDITOR


class TerminalHandover:
    """Stands in for a real terminal's driver: counts hand-overs to another program and back."""

    def __init__(self, app: KutuiApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.suspended = 0
        self.resumed = 0
        driver = app._driver
        assert driver is not None
        monkeypatch.setattr(type(driver), "can_suspend", property(lambda _self: True))
        monkeypatch.setattr(driver, "suspend_application_mode", self._suspend)
        monkeypatch.setattr(driver, "resume_application_mode", self._resume)

    def _suspend(self) -> None:
        self.suspended += 1

    def _resume(self) -> None:
        self.resumed += 1


async def test_a_missing_editor_is_reported_and_the_screen_comes_back(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "/no/such/editor")
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(demo)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        terminal = TerminalHandover(app, monkeypatch)
        await pilot.press("l", "e")
        await settle(pilot, app)
        # Never left handed over: the TUI reads keys again (before: suspended, never resumed).
        assert terminal.suspended == terminal.resumed
        assert isinstance(app.screen, MainScreen)
        messages = [n.message for n in app._notifications]
        assert any("could not start the editor" in m and "/no/such/editor" in m for m in messages)
        await pilot.press("n")  # keys still reach the app
        assert type(app.screen).__name__ == "NotesEditor"
    stored = demo.home.registry().key_by_id("demo0001")
    assert stored is not None and stored.note.text == demo.keys[0].key.note.text


# --------------------------------------------------------------------------- 3: passphrase only


async def _select_key(pilot: Any, app: KutuiApp, label: str) -> None:
    await pilot.press("slash", *label, "enter")
    await settle(pilot, app)
    main = app.main
    assert main is not None and main.selected_key is not None
    assert main.selected_key.ref.label == label


async def test_u_changes_only_the_passphrase(demo: Demo) -> None:
    app = make_app(demo)
    key_id = next(d.key.id for d in demo.keys if d.key.ref.label == "scalper")
    before = demo.open_vault().data.get(key_id)
    assert before is not None
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await _select_key(pilot, app, "scalper")
        await pilot.press("u")
        assert type(app.screen).__name__ == "KeyForm"
        app.screen.query_one("#passphrase").focus()
        await pilot.press(*"New-pass-77", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
    after = demo.open_vault().data.get(key_id)
    assert after is not None
    assert after.passphrase.reveal() == "New-pass-77"
    assert (after.api_key, after.api_secret) == (before.api_key, before.api_secret)


async def test_the_edit_form_checks_only_the_fields_given() -> None:
    from kutui.model import KeyRef
    from kutui.tui.screens.forms import KeyForm
    from tests.tui.modal_host import ModalHost

    ref = KeyRef("main", "", "bot")
    app = ModalHost(lambda: KeyForm(ref=ref, require_credentials=False, existing_refs=[ref]))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#passphrase").focus()
        await pilot.press(*"bad pass", "ctrl+s")  # a space: refused, and only that field says so
        await pilot.pause()
        assert app.results == []
        errors = {e.id for e in app.screen.query(".field-error.-shown")}
        assert errors == {"passphrase-error"}
        await pilot.press(*["backspace"] * 8, *"Good-pass-1", "ctrl+s")
        await pilot.pause()
    [result] = app.results
    assert result.credentials is not None
    assert result.credentials.passphrase.reveal() == "Good-pass-1"
    assert not result.credentials.api_key and not result.credentials.api_secret


# --------------------------------------------------------------------------- 5: add key focus


async def test_add_key_starts_on_the_label_and_keeps_the_account(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("j", "a")  # alpha selected: the form starts with it filled in
        assert type(app.screen).__name__ == "KeyForm"
        await pilot.press(*"newbot")
        await pilot.pause()
        assert app.screen.query_one("#account").value == "alpha"  # type: ignore[attr-defined]
        assert app.screen.query_one("#label").value == "newbot"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- 6: F9 in a form


async def test_f9_saves_a_screenshot_while_a_form_is_open(
    demo: Demo, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("j", "a")
        assert type(app.screen).__name__ == "KeyForm"
        await pilot.press("f9")
        await pilot.pause()
        assert type(app.screen).__name__ == "KeyForm"  # still open, nothing typed into it
    shots = list(tmp_path.glob("kutui-*.svg"))
    assert len(shots) == 1 and "Add&#160;key" in shots[0].read_text()  # the form is on it


# --------------------------------------------------------------------------- 4: table header


def _header_and_first_row_agree(app: KutuiApp) -> None:
    main = app.main
    assert main is not None
    table = main.table
    assert table.scroll_offset.x == 0
    header = table.render_line(0).text
    first = table.render_line(1).text  # the first row in view, under the fixed header
    row = table.scroll_offset.y
    x = 0
    for index, column in enumerate(table.ordered_columns):
        width = column.get_render_width(table)
        if x + width > len(header):
            break  # scrolled out of view to the right
        label = str(column.label)
        assert header[x:].startswith(f" {label}"), (label, header)
        cell = table.get_cell_at(Coordinate(row, index))
        shown = first[x : x + width].strip()
        # Under its own header: the cell's text, whole, or cut to the column with an ellipsis
        # where the table is narrower than its rows (KeysTable fits its columns to its width).
        assert first[x:].startswith(f" {cell.plain}") or (
            "…" in shown and shown.replace("…", "") in cell.plain
        ), (cell.plain, first)
        x += width
    assert x > len(header) // 2  # several columns were compared


@pytest.mark.parametrize("node", ["delta", "alpha/zzz"])
async def test_the_header_stays_over_its_columns_after_a_node_is_removed(
    demo: Demo, node: str
) -> None:
    from kutui.model import Account, SubAccount
    from kutui.tui.widgets.account_tree import NodeRef

    def add(registry: Any) -> None:
        registry.accounts.append(Account("delta", api_url=registry.accounts[0].api_url))
        registry.accounts[0].subaccounts.append(SubAccount("zzz"))

    demo.home.update_registry(add)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        main = app.main
        assert main is not None
        account, _, sub = node.partition("/")
        main.account_tree.select_ref(NodeRef(account, sub or None))
        await pilot.pause()
        await pilot.press("d")
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("y")
        await settle(pilot, app)
        assert main.table.row_count == 40
        _header_and_first_row_agree(app)
