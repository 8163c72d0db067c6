"""Pilot tests for kutui's modal screens, each hosted alone in ``ModalHost``, driven by keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual import events
from textual.widgets import Input, Static, TextArea

from kutui.errors import KutuiError, VaultAuthError
from kutui.model import PERMISSIONS, KeyRef, PermissionNote
from kutui.secret import Secret
from kutui.tui.clipboard import SecretClipboard
from kutui.tui.editor import EditorError, edit_text_in_editor
from kutui.tui.screens.confirm import ConfirmModal
from kutui.tui.screens.error import ErrorModal
from kutui.tui.screens.forms import (
    AccountForm,
    AccountFormResult,
    KeyForm,
    KeyFormResult,
    SecretInput,
    SubAccountForm,
    SubAccountFormResult,
)
from kutui.tui.screens.help import HelpScreen
from kutui.tui.screens.import_progress import ImportOutcome, ImportProgress, ImportScreen
from kutui.tui.screens.notes import NotesEditor
from kutui.tui.screens.reveal import RevealScreen
from kutui.tui.screens.unlock import UnlockScreen
from tests.tui.modal_host import ModalHost, screen_text

# Obviously fake credential shapes (24 hex / UUID / passphrase), never real ones.
API_KEY = "0123456789abcdef0badf00d"
API_SECRET = "00000000-1111-2222-3333-444455556666"
PASSPHRASE = "Fake-Pass-77"
VAULT_PASSPHRASE = "correct horse battery"
SIZE = (100, 40)


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


def current(app: Any) -> Any:
    """The active screen, read fresh (so type checkers do not carry narrowing across awaits)."""
    return app.screen


def visible(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).visual)


# --------------------------------------------------------------------------- confirm


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["y"], True),
        (["n"], False),
        (["escape"], False),
        (["enter"], False),  # focus starts on "No"
        (["shift+tab", "enter"], True),
        (["left", "enter"], True),
    ],
)
async def test_confirm_answers(keys: list[str], expected: bool) -> None:
    app = ModalHost(lambda: ConfirmModal("Delete [bold]it[/]?"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert app.results == [expected]


async def test_confirm_shows_markup_as_plain_text() -> None:
    app = ModalHost(lambda: ConfirmModal("Delete [bold]main/bot[/]?", title="Sure [x]?"))
    async with app.run_test(size=SIZE):
        assert "Delete [bold]main/bot[/]?" in screen_text(app)
        assert "Sure [x]?" in screen_text(app)


# --------------------------------------------------------------------------- error


async def test_error_modal_copies_with_c_and_closes_on_other_keys() -> None:
    text = "KuCoin said [400005] {'msg': 'Invalid KC-API-PASSPHRASE'}\n" + "line\n" * 60
    app = ModalHost(lambda: ErrorModal(text, title="Check failed"))
    async with app.run_test(size=SIZE) as pilot:
        assert "[400005]" in screen_text(app)
        await pilot.press("c")
        assert app.clipboard == text
        await pilot.press("down", "pagedown")
        assert isinstance(app.screen, ErrorModal)
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(current(app), ErrorModal)
        assert app.results == [None]


async def test_error_modal_redacts_credentials() -> None:
    app = ModalHost(lambda: ErrorModal(f"header KC-API-KEY: {API_KEY} secret {API_SECRET}"))
    async with app.run_test(size=SIZE) as pilot:
        shown = screen_text(app)
        assert API_KEY not in shown and API_SECRET not in shown
        assert "KC-API-KEY" in shown
        await pilot.press("c")
        assert API_KEY not in app.clipboard


# --------------------------------------------------------------------------- unlock


class FakeVault:
    pass


def make_unlock(calls: list[str]) -> Any:
    vault = FakeVault()

    def unlock(passphrase: Secret) -> FakeVault:
        calls.append("call")
        time.sleep(0.05)  # the KDF is slow; this runs in a thread
        if passphrase.reveal() != VAULT_PASSPHRASE:
            raise VaultAuthError("/tmp/vault.kutui", "wrong passphrase")
        return vault

    return unlock, vault


async def test_unlock_wrong_then_right_passphrase() -> None:
    calls: list[str] = []
    unlock, vault = make_unlock(calls)
    messages: list[Any] = []
    app = ModalHost(lambda: UnlockScreen(unlock, hint="demo passphrase: demo-demo-demo"))
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        assert "demo passphrase: demo-demo-demo" in screen_text(app)
        await type_text(pilot, "not it at all")
        assert "not it at all" not in screen_text(app)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        assert "Wrong passphrase" in visible(app, "#unlock-message")
        assert screen.query_one(SecretInput).value == ""
        assert app.focused is screen.query_one(SecretInput)
        await type_text(pilot, VAULT_PASSPHRASE)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.results == [vault]
        assert calls == ["call", "call"]
    # No message the app handled (the Textual log prints them all) holds the passphrase.
    assert not [m for m in messages if VAULT_PASSPHRASE in repr(m)]
    assert not [
        m for m in messages if isinstance(m, Input.Changed | Input.Submitted | Input.Blurred)
    ]


async def test_unlock_empty_passphrase_and_escape() -> None:
    calls: list[str] = []
    unlock, _vault = make_unlock(calls)
    app = ModalHost(lambda: UnlockScreen(unlock))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert calls == []
        assert "Type the vault passphrase" in visible(app, "#unlock-message")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_unlock_without_cancel_ignores_escape_and_shows_other_errors() -> None:
    def unlock(passphrase: Secret) -> object:
        raise KutuiError("/x/vault.kutui: the vault is truncated")

    app = ModalHost(lambda: UnlockScreen(unlock, allow_cancel=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await type_text(pilot, "whatever1")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert app.results == []
        assert "the vault is truncated" in visible(app, "#unlock-message")


# --------------------------------------------------------------------------- forms


async def test_account_form_validates_then_returns() -> None:
    app = ModalHost(lambda: AccountForm(existing_names=["main"]))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "main")
        await pilot.press("enter")
        await pilot.pause()
        assert "already exists" in visible(app, "#name-error")
        await pilot.press(*["backspace"] * 4)
        await type_text(pilot, "second")
        await pilot.press("tab", "ctrl+a", "ctrl+k")  # select all isn't bound: clear to end
        field = app.screen.query_one("#api_url", Input)
        field.value = ""
        await type_text(pilot, "http://evil.example")
        await pilot.press("enter")
        await pilot.pause()
        assert "https" in visible(app, "#api_url-error")
        assert app.results == []
        field.value = ""
        await type_text(pilot, "https://api.example.com/")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [AccountFormResult("second", "https://api.example.com")]


async def test_account_form_edit_keeps_own_name_and_allows_local_http() -> None:
    initial = AccountFormResult("main", "https://api.kucoin.com")
    app = ModalHost(lambda: AccountForm(initial=initial, existing_names=["main", "other"]))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#api_url", Input).value = "http://127.0.0.1:8321"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == [AccountFormResult("main", "http://127.0.0.1:8321")]


async def test_sub_account_form() -> None:
    app = ModalHost(lambda: SubAccountForm("main", existing_names=["bot1"]))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "bad name")
        await pilot.press("enter")
        await pilot.pause()
        assert "letters, digits" in visible(app, "#name-error")
        app.screen.query_one("#name", Input).value = ""
        await type_text(pilot, "bot2")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [SubAccountFormResult("main", "bot2")]


async def test_sub_account_form_escape_cancels() -> None:
    app = ModalHost(lambda: SubAccountForm("main"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "bot")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def fill_key_form(pilot: Any, *, api_key: str, secret: str, passphrase: str) -> None:
    # account, sub, label, api key, secret, passphrase: tab moves between them.
    await type_text(pilot, "main")
    await pilot.press("tab")
    await type_text(pilot, "bot1")
    await pilot.press("tab")
    await type_text(pilot, "trading")
    await pilot.press("tab")
    await type_text(pilot, api_key)
    await pilot.press("tab")
    await type_text(pilot, secret)
    await pilot.press("tab")
    await type_text(pilot, passphrase)


async def test_key_form_returns_secrets_masked_and_never_shows_them() -> None:
    messages: list[Any] = []
    app = ModalHost(lambda: KeyForm(accounts={"main": ["bot1"]}))
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await fill_key_form(pilot, api_key=API_KEY, secret=API_SECRET, passphrase=PASSPHRASE)
        shown = screen_text(app)
        for value in (API_KEY, API_SECRET, PASSPHRASE):
            assert value not in shown
        await pilot.press("enter")
        await pilot.pause()
        [result] = app.results
        assert isinstance(result, KeyFormResult)
        assert result.ref == KeyRef("main", "bot1", "trading")
        assert result.api_version == 3
        assert result.credentials is not None
        assert result.credentials.api_key.reveal() == API_KEY
        assert result.credentials.api_secret.reveal() == API_SECRET
        assert result.credentials.passphrase.reveal() == PASSPHRASE
        assert PASSPHRASE not in repr(result)
        assert result.warnings == ()
    for value in (API_KEY, API_SECRET, PASSPHRASE):
        assert not [m for m in messages if value in repr(m)]


async def test_key_form_shows_inline_errors_without_echoing_values() -> None:
    app = ModalHost(lambda: KeyForm(accounts={"main": []}))
    async with app.run_test(size=SIZE) as pilot:
        await fill_key_form(pilot, api_key="NOTHEX-key", secret=API_SECRET, passphrase="short")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "no sub-account 'bot1'" in visible(app, "#sub-error")
        assert "24 lowercase hex" in visible(app, "#api_key-error")
        assert "7 to 32 characters" in visible(app, "#passphrase-error")
        shown = screen_text(app)
        assert "NOTHEX-key" not in shown and "short" not in shown.replace("shortcut", "")


async def test_key_form_uses_the_same_validators_as_the_cli() -> None:
    app = ModalHost(lambda: KeyForm(accounts={"main": ["bot1"]}))
    async with app.run_test(size=SIZE) as pilot:
        await fill_key_form(pilot, api_key=API_KEY, secret=API_SECRET, passphrase="Ab12345\u00e967")
        # A paste can carry what typing cannot: an escape sequence.
        app.screen.query_one("#api_secret", Input).value = API_SECRET + "\x1b[2J"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "control character" in visible(app, "#api_secret-error")
        assert "printable ASCII" in visible(app, "#passphrase-error")


async def test_account_form_refuses_an_api_url_with_a_path() -> None:
    app = ModalHost(lambda: AccountForm(existing_names=[]))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "main")
        app.screen.query_one("#api_url", Input).value = "https://api.kucoin.com/api"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == []
        assert "no path" in visible(app, "#api_url-error")


async def test_key_form_secret_warning_needs_a_second_enter() -> None:
    app = ModalHost(lambda: KeyForm(api_version=2))
    async with app.run_test(size=SIZE) as pilot:
        await fill_key_form(
            pilot, api_key=API_KEY, secret="not-a-uuid-secret", passphrase=PASSPHRASE
        )
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "does not look like" in visible(app, "#api_secret-error")
        await pilot.press("enter")
        await pilot.pause()
        [result] = app.results
        assert result.api_version == 2
        assert result.warnings and "UUID" in result.warnings[0]


async def test_key_form_cleans_pasted_values() -> None:
    app = ModalHost(lambda: KeyForm(ref=KeyRef("main", "", "old")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # a full reference: focus starts on the API key field
        screen = app.screen
        assert app.focused is screen.query_one("#api_key", SecretInput)
        app.focused.post_message(events.Paste(f"  {API_KEY}\u200b\n"))
        await pilot.press("tab")
        app.focused.post_message(events.Paste(f"\ufeff{API_SECRET} "))
        await pilot.press("tab")
        app.focused.post_message(events.Paste(f"{PASSPHRASE}\n"))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        [result] = app.results
        assert result.ref == KeyRef("main", "", "old")
        assert result.credentials.api_key.reveal() == API_KEY
        assert result.credentials.api_secret.reveal() == API_SECRET
        assert result.credentials.passphrase.reveal() == PASSPHRASE


async def test_key_form_can_keep_stored_credentials() -> None:
    ref = KeyRef("main", "", "old")
    app = ModalHost(
        lambda: KeyForm(
            ref=ref, require_credentials=False, existing_refs=[ref, KeyRef("main", "", "x")]
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        [result] = app.results
        assert result.ref == ref and result.credentials is None


async def test_key_form_refuses_an_existing_reference() -> None:
    taken = KeyRef("main", "bot1", "trading")
    app = ModalHost(lambda: KeyForm(existing_refs=[taken], require_credentials=False))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "main")
        await pilot.press("tab")
        await type_text(pilot, "bot1")
        await pilot.press("tab")
        await type_text(pilot, "trading")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "already exists" in visible(app, "#label-error")
        await pilot.press("backspace")
        await pilot.press("enter")
        await pilot.pause()
        assert [r.ref for r in app.results] == [KeyRef("main", "bot1", "tradin")]


# --------------------------------------------------------------------------- notes


async def test_notes_editor_edits_everything_by_keyboard() -> None:
    note = PermissionNote("old", ("Spot", "CustomPerm"), ("host-a",))
    app = ModalHost(lambda: NotesEditor(note))
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("end", "enter")
        await type_text(pilot, "used by bot")
        await pilot.press("tab", "space")  # General on
        await pilot.press("tab", "space")  # Spot off
        shown = screen_text(app)
        assert "▐X▌ General" in shown and "▐ ▌ Spot" in shown  # state as a glyph, not colour
        # to the consumer input: past the remaining checkboxes (the custom one included)
        await pilot.press(*["tab"] * len(PERMISSIONS))
        assert isinstance(app.focused, Input)
        await type_text(pilot, "cron@host-b")
        await pilot.press("enter")
        await type_text(pilot, "host-a")  # a duplicate is ignored
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await pilot.pause()
        [result] = app.results
        assert result == PermissionNote(
            "old\nused by bot", ("General", "CustomPerm"), ("host-a", "cron@host-b")
        )


async def test_notes_editor_removes_a_consumer_and_escape_cancels() -> None:
    note = PermissionNote("", (), ("one", "two", "three"))
    app = ModalHost(lambda: NotesEditor(note))
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("shift+tab", "shift+tab", "shift+tab")  # cancel, save, list
        assert app.focused is app.screen.query_one("#consumers")
        await pilot.press("down", "delete")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, NotesEditor)
        assert editor.note().consumers == ("one", "three")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


def editor_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-editor.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o700)
    return script


async def test_edit_text_in_editor_uses_a_private_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    script = editor_script(
        tmp_path,
        f'stat -c "%a" "$1" > {seen}; stat -c "%a" "$(dirname "$1")" >> {seen}\n'
        'printf "second line\\n" >> "$1"\n',
    )
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    app = ModalHost()
    async with app.run_test(size=SIZE):
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        edited = edit_text_in_editor(app, "first line\n", command=[str(script)], tmp_root=tmp_root)
        assert edited == "first line\nsecond line\n"
        assert seen.read_text().split() == ["600", "700"]
        assert list(tmp_root.iterdir()) == []  # removed afterwards
        failing = editor_script(tmp_path, "exit 3\n")
        with pytest.raises(EditorError, match="status 3"):
            edit_text_in_editor(app, "x", command=[str(failing)], tmp_root=tmp_root)
        assert list(tmp_root.iterdir()) == []


async def test_notes_editor_f2_uses_the_external_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = editor_script(tmp_path, 'printf "from the editor\\n" > "$1"\n')
    app = ModalHost(lambda: NotesEditor(PermissionNote("before"), editor=[str(script)]))
    async with app.run_test(size=(100, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen.query_one("#note-text", TextArea).text == "from the editor"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results[0].text == "from the editor"


async def test_notes_editor_reports_when_suspend_is_impossible(tmp_path: Path) -> None:
    script = editor_script(tmp_path, "exit 0\n")
    app = ModalHost(lambda: NotesEditor(PermissionNote("keep"), editor=[str(script)]))
    async with app.run_test(size=(100, 50), notifications=True) as pilot:
        await pilot.press("f2")  # the headless driver cannot suspend
        await pilot.pause()
        assert app.screen.query_one("#note-text", TextArea).text == "keep"
        assert any("not supported" in n.message for n in app._notifications)


# --------------------------------------------------------------------------- reveal


def reveal_screen(timeout: float = 10.0) -> RevealScreen:
    return RevealScreen(
        "main/bot1/trading",
        api_key=Secret(API_KEY),
        api_secret=Secret(API_SECRET),
        passphrase=Secret(PASSPHRASE),
        timeout=timeout,
    )


async def test_reveal_shows_only_on_request_and_hides_after_timeout() -> None:
    app = ModalHost(lambda: reveal_screen(timeout=0.4))
    async with app.run_test(size=SIZE) as pilot:
        shown = screen_text(app)
        assert "f00d" in shown  # the fingerprint
        for value in (API_KEY, API_SECRET, PASSPHRASE):
            assert value not in shown
        await pilot.press("r")
        await pilot.pause()
        shown = screen_text(app)
        for value in (API_KEY, API_SECRET, PASSPHRASE):
            assert value in shown
        assert "Hiding in 1 s" in shown
        await pilot.pause(0.7)
        shown = screen_text(app)
        for value in (API_KEY, API_SECRET, PASSPHRASE):
            assert value not in shown
        screen = app.screen
        assert isinstance(screen, RevealScreen) and not screen.revealed
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_reveal_r_hides_at_once() -> None:
    app = ModalHost(lambda: reveal_screen())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert API_SECRET in screen_text(app)
        assert "Hiding in 10 s" in screen_text(app)
        await pilot.press("r")
        assert API_SECRET not in screen_text(app)


# --------------------------------------------------------------------------- clipboard


async def test_api_key_copies_at_once_and_is_cleared() -> None:
    app = ModalHost()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        clip = SecretClipboard(app, clear_after=0.3)
        clip.copy_api_key(Secret(API_KEY), label="main/bot1/trading")
        assert app.clipboard == API_KEY
        assert clip.pending
        await pilot.pause()
        assert any("cleared in 0.3 s" in n.message for n in app._notifications)
        await pilot.pause(0.6)
        assert app.clipboard == ""
        assert not getattr(clip, "pending")  # noqa: B009 - read fresh after the await
        assert any("Clipboard cleared" in n.message for n in app._notifications)


async def test_secret_copy_asks_first() -> None:
    app = ModalHost()
    answers: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        clip = SecretClipboard(app, clear_after=0.3)
        clip.copy_with_confirm(
            Secret(API_SECRET), what="API secret", label="main/x", on_done=answers.append
        )
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.clipboard == ""
        await pilot.press("n")
        await pilot.pause()
        assert app.clipboard == "" and answers == [False]
        clip.copy_with_confirm(Secret(PASSPHRASE), what="API passphrase", label="main/x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == PASSPHRASE
        await pilot.pause(0.6)
        assert app.clipboard == ""


async def test_clear_leaves_a_later_copy_alone() -> None:
    app = ModalHost()
    async with app.run_test(size=SIZE) as pilot:
        clip = SecretClipboard(app, clear_after=0.2)
        clip.copy_api_key(Secret(API_KEY), label="k")
        app.copy_to_clipboard("some error text")
        await pilot.pause(0.4)
        assert app.clipboard == "some error text"


# --------------------------------------------------------------------------- help


async def test_help_lists_active_bindings_grouped_with_ids() -> None:
    app = ModalHost()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(HelpScreen(), app.results.append)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        groups = dict(screen.binding_rows())
        key = app.get_key_display(ModalHost.BINDINGS[0])  # type: ignore[arg-type]
        assert (key, "Refresh everything", "host.refresh") in groups["Everywhere"]
        assert not any(i == "host.hidden" for rows in groups.values() for _, _, i in rows)
        shown = screen_text(app)
        assert "host.refresh" in shown and "OSC 52" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


# --------------------------------------------------------------------------- import


async def test_import_shows_progress_and_returns_outcome() -> None:
    async def run() -> AsyncIterator[ImportProgress]:
        yield ImportProgress(0, None, "listing sub-accounts")
        for done in range(1, 4):
            await asyncio.sleep(0.01)
            yield ImportProgress(done, 3, f"imported bot{done}")
        yield ImportProgress(3, 3, "bot9 has no keys", level="warning")

    app = ModalHost(lambda: ImportScreen(run))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = screen_text(app)
        assert "imported bot3" in shown and "warning: bot9 has no keys" in shown
        assert "Finished: 3 of 3 done" in shown
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [ImportOutcome("done", 3, 3, warnings=1)]


async def test_import_escape_cancels_a_running_import() -> None:
    finished = asyncio.Event()

    async def run() -> AsyncIterator[ImportProgress]:
        try:
            yield ImportProgress(1, 10, "imported bot1")
            await asyncio.sleep(30)
            yield ImportProgress(2, 10)
        finally:
            finished.set()

    app = ModalHost(lambda: ImportScreen(run))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [ImportOutcome("cancelled", 1, 10)]
        await asyncio.wait_for(finished.wait(), 2)


async def test_import_failure_is_shown_and_returned() -> None:
    async def run() -> AsyncIterator[ImportProgress]:
        yield ImportProgress(1, 5)
        raise KutuiError("main: the master key lacks the General permission [x]")

    app = ModalHost(lambda: ImportScreen(run))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        assert "lacks the General permission [x]" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        [outcome] = app.results
        assert outcome.state == "failed" and "General permission" in outcome.error


def test_private_mode_constants_are_what_the_editor_helper_relies_on() -> None:
    # tempfile.mkdtemp documents 0700; a regression here would expose notes to other users.
    import tempfile

    path = Path(tempfile.mkdtemp())
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    finally:
        path.rmdir()


# --------------------------------------------------------------------------- plain functions

MARKUP_TRAPS = ["[", "[/]", "[bold", "\\[x]", "[link=https://x]x[/link]", "[@click=app.quit]q[/]"]


@pytest.mark.parametrize("text", MARKUP_TRAPS)
async def test_outside_text_is_never_markup(text: str) -> None:
    app = ModalHost(lambda: ConfirmModal(f"key {text}", title=text))
    async with app.run_test(size=SIZE) as pilot:
        assert f"key {text}" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(ErrorModal(text, title=text))
        await pilot.pause()
        assert text in screen_text(app)
        assert app.is_running


@given(st.text(max_size=60))
def test_api_url_problem_accepts_only_https_or_local_http(url: str) -> None:
    import ipaddress
    from urllib.parse import urlsplit

    from kutui.tui.screens.forms import api_url_problem

    if api_url_problem(url) is None:
        parts = urlsplit(url)
        assert parts.hostname
        assert parts.scheme == "https" or (
            parts.scheme == "http"
            and (parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback)
        )
        assert parts.path in ("", "/") and not (parts.query or parts.fragment or parts.username)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"VISUAL": "code --wait", "EDITOR": "nano"}, ["code", "--wait"]),
        ({"VISUAL": " ", "EDITOR": "nano -w"}, ["nano", "-w"]),
        ({}, ["vi"]),
    ],
)
def test_editor_command_order(env: dict[str, str], expected: list[str]) -> None:
    from kutui.tui.editor import editor_command

    assert editor_command(env) == expected
