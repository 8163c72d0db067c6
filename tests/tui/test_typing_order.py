"""Keys typed in one burst apply in the order typed (kutui/tui/key_order.py, issue 14).

``burst`` delivers keys as a terminal does when they come faster than the app handles them;
``pilot.press`` would let the app go idle after each one and never show the problem.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from kutui.demo import Demo
from kutui.tui.app import KutuiApp

from .conftest import burst, make_app, until

SIZE = (120, 40)
API_KEY = "0123456789abcdef01234567"
API_SECRET = "0a1b2c3d-0000-4000-8000-0123456789ab"


async def _settled(pilot: object, app: KutuiApp) -> None:
    await until(pilot, lambda: app.main is not None and app.main.ready and app.screen is app.main)
    await app.workers.wait_for_complete()


def _fields(app: KutuiApp) -> dict[str, str]:
    return {str(field.id): field.value for field in app.screen.query(Input)}


async def test_text_tab_text_in_one_burst_fills_each_field_in_turn(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot, app)
        await pilot.press("j", "a")  # alpha: the Add key form, on the label
        await until(pilot, lambda: type(app.screen).__name__ == "KeyForm")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "label")
        await burst(
            pilot, app, *"newbot", "tab", *API_KEY, "tab", *API_SECRET, "tab", *"Pass-phrase-1"
        )
        assert _fields(app) == {
            "account": "alpha",
            "sub": "",
            "label": "newbot",
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "passphrase": "Pass-phrase-1",
        }


async def test_letters_typed_right_after_the_key_that_opens_a_form_land_in_the_form(
    demo: Demo,
) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot, app)
        await pilot.press("j")
        # "n" and "e" are bindings of the main screen (note, $EDITOR): typed after "a" they
        # belong to the form "a" opens, however soon they come.
        await burst(pilot, app, "a", *"newbot", "tab", *API_KEY)
        assert type(app.screen).__name__ == "KeyForm"
        fields = _fields(app)
        assert (fields["label"], fields["api_key"]) == ("newbot", API_KEY)


async def test_a_key_after_one_that_moves_focus_acts_where_focus_went(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot, app)
        main = app.main
        assert main is not None and main.account_tree.has_focus
        tree_line = main.account_tree.cursor_line
        await burst(pilot, app, "l", "j", "j")  # the table, then two keys down in it
        assert main.table.has_focus
        assert main.table.cursor_row == 2
        assert main.account_tree.cursor_line == tree_line


async def test_keys_still_apply_when_the_handled_notice_of_one_is_lost(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key whose widget is removed before it runs never reports back: the keys behind it
    # wait GIVE_UP_AFTER at most, then go on in order.
    import kutui.tui.key_order as key_order

    monkeypatch.setattr(key_order, "CHECK_EVERY", 0.02)
    monkeypatch.setattr(key_order, "GIVE_UP_AFTER", 0.1)
    monkeypatch.setattr(KutuiApp, "on_key_handled", lambda self, message: None)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot, app)
        main = app.main
        assert main is not None
        await burst(pilot, app, "l", "j", "j")
        assert main.table.has_focus and main.table.cursor_row == 2
