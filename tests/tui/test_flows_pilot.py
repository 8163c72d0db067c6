"""Notes, reveal/copy, add/edit/remove, lock/unlock, help, palette and keymap, by keyboard."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kutui.demo import DEMO_PASSPHRASE, Demo
from kutui.model import KeyRef
from kutui.secret import Secret
from kutui.tui.screens.main import MainScreen

from .conftest import FakeChecker, make_app, ready, settle

SIZE = (120, 40)
NEW_KEY = "0123456789abcdef01234567"
NEW_SECRET = "0a1b2c3d-0000-4000-8000-0123456789ab"


async def test_n_edits_the_note_and_saves_it(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("l", "n")
        assert type(app.screen).__name__ == "NotesEditor"
        await pilot.press("end", *" Rotated weekly.")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        key = main.selected_key
        assert key is not None and key.note.text.endswith("Rotated weekly.")
    stored = demo.home.registry().key_by_id("demo0001")
    assert stored is not None and stored.note.text.endswith("Rotated weekly.")


async def test_e_edits_the_note_in_the_editor(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    import kutui.tui.editor as editor

    monkeypatch.setattr(editor, "edit_text_in_editor", lambda app, text, **_: "From $EDITOR")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "e")
        await settle(pilot, app)
    stored = demo.home.registry().key_by_id("demo0001")
    assert stored is not None and stored.note.text == "From $EDITOR"
    assert stored.note.expected_permissions == ("General",)  # kept


async def test_v_reveals_and_escape_closes(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "v")
        assert type(app.screen).__name__ == "RevealScreen"
        assert app.screen.has_class("-revealed")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_y_copies_the_key_and_Y_asks_before_the_secret(demo: Demo) -> None:
    app = make_app(demo)
    vault = app.vault
    assert vault is not None
    cred = vault.data.get("demo0001")
    assert cred is not None
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "y")
        assert app.clipboard == cred.api_key.reveal()
        assert app.clipboard_guard.pending
        await pilot.press("Y")
        assert type(app.screen).__name__ == "ConfirmModal"
        assert app.clipboard == cred.api_key.reveal()  # nothing copied before the answer
        await pilot.press("y")
        assert app.clipboard == cred.api_secret.reveal()
        await pilot.press("ctrl+l")  # locking clears what kutui copied
        assert app.clipboard == ""


async def test_a_adds_a_key_to_registry_and_vault(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "a")  # alpha selected: the form starts with it filled in
        assert type(app.screen).__name__ == "KeyForm"
        await pilot.press(*"newbot", "tab")  # focus starts on the label
        await pilot.press(*NEW_KEY, "tab", *NEW_SECRET, "tab", *"Pass-phrase-1")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
    key = demo.home.registry().key(KeyRef("alpha", "", "newbot"))
    assert key is not None and key.fingerprint == "4567"
    vault = demo.open_vault()
    cred = vault.data.get(key.id)
    assert cred is not None and cred.api_secret == Secret(NEW_SECRET)


async def test_A_adds_an_account_at_the_root(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("A")
        assert type(app.screen).__name__ == "AccountForm"
        await pilot.press(*"delta", "ctrl+s")
        await settle(pilot, app)
    assert demo.home.registry().account("delta") is not None


async def test_u_renames_an_account_and_its_keys(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "j", "j", "j", "j")  # bravo
        main = app.main
        assert main is not None and main.node.account == "bravo" and main.node.sub is None
        await pilot.press("u")
        assert type(app.screen).__name__ == "AccountForm"
        await pilot.press("end", *"-2", "ctrl+s")
        await settle(pilot, app)
    registry = demo.home.registry()
    assert registry.account("bravo-2") is not None and registry.account("bravo") is None
    assert len(registry.keys_under("bravo-2")) == 13


async def test_d_removes_a_key_after_confirming(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "d")
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("y")
        await settle(pilot, app)
    registry = demo.home.registry()
    assert registry.key_by_id("demo0001") is None and len(registry.keys) == 39
    assert demo.open_vault().data.get("demo0001") is None


async def test_d_refuses_a_node_that_holds_keys(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "d")
        assert isinstance(app.screen, MainScreen)
        assert any("still has" in n.message and "key(s)" in n.message for n in app._notifications)
    assert demo.home.registry().account("alpha") is not None


async def test_lock_then_unlock_with_the_passphrase(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+l")
        assert app.vault is None
        assert type(app.screen).__name__ == "UnlockScreen"
        await pilot.press(*"wrong-passphrase", "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "UnlockScreen"  # stays, with a message
        assert app.vault is None
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.vault is not None


async def test_locked_start_asks_for_the_passphrase(demo: Demo) -> None:
    app = make_app(demo, unlocked=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert type(app.screen).__name__ == "UnlockScreen"
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await settle(pilot, app)
        assert app.vault is not None and isinstance(app.screen, MainScreen)


@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_help_opens_and_escape_closes(demo: Demo, key: str) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press(key)
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_palette_runs_check_all(demo: Demo) -> None:
    checker = FakeChecker(demo)
    app = make_app(demo, checker=checker)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"check: all keys")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, app)
        assert len(checker.seen) == 40


async def test_palette_switches_theme_and_it_is_remembered(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"theme: use high-contrast")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.theme == "high-contrast"
    assert demo.home.state().theme == "high-contrast"
    again = make_app(demo)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot, again)
        assert again.theme == "high-contrast"


async def test_keymap_rebinds_by_id_and_reports_unknown_ids(demo: Demo) -> None:
    checker = FakeChecker(demo)
    demo.home.config = replace(
        demo.home.config, keymap={"main.check_all": "x", "main.no_such": "z"}
    )
    app = make_app(demo, checker=checker)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        assert len(checker.seen) == 40
        assert any("main.no_such" in n.message for n in app._notifications)


async def test_r_opens_the_rotation_screen(demo: Demo) -> None:
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "j", "l", "r")
        await pilot.pause()
        assert type(app.screen).__name__ == "RotationScreen"
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)


async def test_i_imports_subaccounts_and_their_keys_through_the_master_key(demo: Demo) -> None:
    demo.simulator.add_user(2099, sub_name="newsub", master_uid=1001)
    new_key = demo.simulator.add_key(2099, remark="found by import")
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "i")
        assert type(app.screen).__name__ == "ImportScreen"
        await settle(pilot, app)
        await pilot.pause(0.5)
        await pilot.press("escape")
        await settle(pilot, app)
    registry = demo.home.registry()
    account = registry.account("alpha")
    assert account is not None and account.sub("newsub") is not None
    imported = registry.keys_under("alpha", "newsub")
    assert [k.fingerprint for k in imported] == [new_key.api_key[-4:]]
    assert not imported[0].has_secret  # metadata only: the secret is never learned by import


async def test_f2_opens_the_theme_picker(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("f2")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommandPalette"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_P_copies_the_passphrase_only_after_yes(demo: Demo) -> None:
    app = make_app(demo)
    vault = app.vault
    assert vault is not None
    cred = vault.data.get("demo0001")
    assert cred is not None
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "P")
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("n")  # declined: nothing copied
        assert app.clipboard == ""
        await pilot.press("P", "y")
        assert app.clipboard == cred.passphrase.reveal()


async def test_an_unusable_entry_is_named_when_it_is_used(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.store.vault_payload import read_payload, write_payload

    vault = demo.open_vault()
    keys = read_payload(vault)
    keys["demo0001"]["CURRENT"]["api_secret"] += "\udce9"  # stored from non-UTF-8 input
    write_payload(vault, keys)
    app = make_app(demo)  # the vault opens: one bad entry does not lock the user out
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(message))
        await pilot.press("l", "v")
        assert isinstance(app.screen, MainScreen)  # nothing revealed
    [note] = [n for n in notes if "demo0001" in n]
    assert "cannot be used: api_secret is not valid text" in note
    assert keys["demo0001"]["CURRENT"]["api_secret"][:8] not in note
