"""SVG snapshots of the modal screens (masked states only) and a scan of them for secrets.

Review the report before accepting changes: ``pytest tests/tui/test_modal_snapshots.py
--snapshot-update``. Every snapshot is taken with fake credentials typed in, and both the live
screen and the stored SVG files are checked for those values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kutui.model import PermissionNote
from kutui.secret import Secret
from kutui.tui.screens.confirm import ConfirmModal
from kutui.tui.screens.forms import KeyForm
from kutui.tui.screens.help import HelpScreen
from kutui.tui.screens.notes import NotesEditor
from kutui.tui.screens.reveal import RevealScreen
from kutui.tui.screens.unlock import UnlockScreen
from tests.tui.modal_host import ModalHost, no_blink, screen_text, settle_layout, svg_text

API_KEY = "0123456789abcdef0badf00d"
API_SECRET = "00000000-1111-2222-3333-444455556666"
PASSPHRASE = "Fake-Pass-77"
VAULT_PASSPHRASE = "snapshot vault words"
SECRETS = (API_KEY, API_SECRET, PASSPHRASE, VAULT_PASSPHRASE)
SNAPSHOT_DIR = Path(__file__).parent / "__snapshots__" / "test_modal_snapshots"

SnapCompare = Callable[..., bool]


def settle(typed: str = "") -> tuple[Callable[[Pilot[Any]], Any], list[str]]:
    """A ``run_before`` that types ``typed``, freezes cursors and records the screen text."""
    seen: list[str] = []

    async def run_before(pilot: Pilot[Any]) -> None:
        if typed:
            await pilot.press(*["space" if ch == " " else ch for ch in typed])
        await pilot.pause()
        no_blink(pilot.app)
        seen.append(screen_text(pilot.app))

    return run_before, seen


def assert_no_secret(seen: list[str]) -> None:
    assert seen, "run_before did not run"
    for text in seen:
        for value in SECRETS:
            assert value not in text


def test_unlock_snapshot(snap_compare: SnapCompare) -> None:
    app = ModalHost(
        lambda: UnlockScreen(
            lambda passphrase: object(),
            vault_path="~/.local/share/kutui/vault.kutui",
            hint="Demo vault: the passphrase is 'demo-passphrase'",
        )
    )
    run_before, seen = settle(VAULT_PASSPHRASE)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    assert_no_secret(seen)


def test_notes_editor_snapshot(snap_compare: SnapCompare) -> None:
    note = PermissionNote(
        "Market-making bot on **host-b**.\nNo withdrawals, ever.",
        ("General", "Spot"),
        ("mm-bot@host-b", "grafana exporter"),
    )
    app = ModalHost(lambda: NotesEditor(note, title="Permission note: main/bot1/mm"))
    run_before, seen = settle()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    assert_no_secret(seen)


def test_key_form_inline_error_snapshot(snap_compare: SnapCompare) -> None:
    async def fill(pilot: Pilot[Any]) -> None:
        async def typed(text: str) -> None:
            await pilot.press(*text)

        await typed("main")
        await pilot.press("tab", "tab")
        await typed("trading")
        await pilot.press("tab")
        await typed(API_KEY + "XYZ")  # wrong shape: an inline error
        await pilot.press("tab")
        await typed(API_SECRET)
        await pilot.press("tab")
        await typed(PASSPHRASE)
        await pilot.press("enter")

    seen: list[str] = []

    async def run_before(pilot: Pilot[Any]) -> None:
        await fill(pilot)
        await pilot.pause()
        no_blink(pilot.app)
        seen.append(screen_text(pilot.app))

    app = ModalHost(lambda: KeyForm(accounts={"main": ["bot1"]}))
    assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)
    assert_no_secret(seen)
    assert "24 lowercase hex" in seen[0]


def test_help_snapshot(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(HelpScreen())
        await settle_layout(pilot)  # the Markdown part lays out after the screen mounts

    assert snap_compare(ModalHost(), terminal_size=(100, 40), run_before=run_before)


def test_confirm_snapshot(snap_compare: SnapCompare) -> None:
    app = ModalHost(
        lambda: ConfirmModal(
            "Copy the API secret of main/bot1/trading to the clipboard?\n\n"
            "kutui clears it after 45 s (best effort).",
            title="Copy the API secret?",
            yes_label="Copy",
        )
    )
    run_before, seen = settle()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    assert_no_secret(seen)


def test_reveal_masked_snapshot(snap_compare: SnapCompare) -> None:
    app = ModalHost(
        lambda: RevealScreen(
            "main/bot1/trading",
            api_key=Secret(API_KEY),
            api_secret=Secret(API_SECRET),
            passphrase=Secret(PASSPHRASE),
        )
    )
    run_before, seen = settle()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    assert_no_secret(seen)
    assert "f00d" in seen[0]  # the fingerprint is what shows


def test_stored_snapshots_hold_no_secret() -> None:
    files = sorted(SNAPSHOT_DIR.glob("*.svg"))
    if not files:
        pytest.skip("no snapshots stored yet (first run)")
    for path in files:
        text = svg_text(path.read_text(encoding="utf-8"))
        for value in SECRETS:
            assert value not in text, f"{path.name} shows a secret"
