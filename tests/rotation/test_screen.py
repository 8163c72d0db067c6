"""RotationScreen driven with Pilot against the in-process simulator, plus snapshots."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kutui.kucoin.client import ClientPool
from kutui.kucoin.simulator import exchange
from kutui.model import Slot
from kutui.tui.screens.forms import SecretInput
from kutui.tui.screens.rotation import RotationScreen
from tests.rotation.world import MKEY_ID, SUB_ID, World

RID = "261125090000-beef"
SIZE = (120, 36)


class FrozenClock:
    """Each call is one second later than the previous: deterministic, and times still differ."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> datetime:
        return datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC) + timedelta(seconds=next(self.ticks))


class FixedIds:
    """Stands in for ``secrets`` in the simulator: new keys get predictable ids."""

    def __init__(self) -> None:
        self.n = itertools.count(1)

    def token_hex(self, nbytes: int) -> str:
        return f"{next(self.n):0{nbytes * 2}x}"


class Host(App[None]):
    def __init__(self, make: Callable[[], RotationScreen]) -> None:
        super().__init__()
        self.make = make

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.make())


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange, "secrets", FixedIds())
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


def host_for(world: World, key_id: str = SUB_ID) -> Host:
    pool = ClientPool(transport=world.sim.transport(client_ip="10.1.2.3"))
    return Host(
        lambda: RotationScreen(
            world.home,
            world.vault,
            key_id,
            pool,
            rotation_id=RID,
            clock=FrozenClock(),
            verify_delays=(0.0,),
        )
    )


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: App[Any], widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).render())


async def test_pilot_sub_rotation_end_to_end(world: World) -> None:
    old = world.old.credential()
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RotationScreen)
        assert "Plan the rotation" in text_of(app, "#rot-step-title")
        await pilot.press("x")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
        assert "new key …" in text_of(app, "#rot-evidence") and "verified" in text_of(
            app, "#rot-evidence"
        )
        assert "[ ] grid-bot" in text_of(app, "#rot-note")
        await pilot.press("d")
        await settle(pilot)
        assert "[x] grid-bot" in text_of(app, "#rot-note")
        assert world.vault.data.get(SUB_ID, Slot.CURRENT) == old  # not promoted yet
        await pilot.press("d")
        await settle(pilot)
        # Before the delete: the question names both keys; d asks, y confirms it.
        assert "Delete the old key" in text_of(app, "#rot-step-title")
        assert "Mark done (d) confirms" in text_of(app, "#rot-note")
        assert await world.works(old)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")  # yes, delete the old key
        await settle(pilot)
        assert "Rotation finished" in text_of(app, "#rot-step-title")
    world.restart()
    slots = world.vault.data.slots(SUB_ID)
    assert set(slots) == {Slot.CURRENT}
    assert await world.works(slots[Slot.CURRENT])
    assert await world.dead(old)
    doc = tomllib.loads(world.store.path_for(RID).read_text())
    assert all(s["status"] == "done" and s["evidence"] and s["done_at"] for s in doc["steps"])


async def test_pilot_resume_shows_where_it_stopped_and_abort(world: World) -> None:
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
    # A new screen (as after closing the app) opens at the same step.
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Switch consumers" in text_of(app, "#rot-step-title")
        await pilot.click("#rot-abort")
        await pilot.press(*"not today", "enter", "enter")
        await settle(pilot)
        assert "Rotation aborted" in text_of(app, "#rot-step-title")
    assert world.vault.data.slots(SUB_ID) == {Slot.CURRENT: world.old.credential()}
    assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]


async def test_pilot_master_wrong_passphrase_keeps_step_open(world: World) -> None:
    app = host_for(world, MKEY_ID)
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        assert "web UI" in text_of(app, "#rot-step-title")
        await type_credentials(pilot, web.api_key, web.api_secret, "NewMasterPass-0")
        await pilot.press("d")
        await settle(pilot)
        assert "passphrase" in text_of(app, "#rot-note")
        assert "failed" in text_of(app, "#rot-step-title")
        assert world.vault.data.get(MKEY_ID, Slot.CURRENT) == world.old_master.credential()
        screen_svg = app.export_screenshot()
        for value in (web.api_key, web.api_secret, "NewMasterPass-0"):
            assert value not in screen_svg
        await type_credentials(pilot, web.api_key, web.api_secret, "NewMasterPass-9")
        await pilot.press("d")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")


async def type_credentials(pilot: Pilot[Any], key: str, secret: str, passphrase: str) -> None:
    for widget_id, value in (
        ("#rot-api-key", key),
        ("#rot-api-secret", secret),
        ("#rot-passphrase", passphrase),
    ):
        pilot.app.screen.query_one(widget_id, SecretInput).value = value
    await pilot.pause()


# --------------------------------------------------------------------------- snapshots

Before = Callable[[Pilot[Any]], Awaitable[None]]


async def _nothing(pilot: Pilot[Any]) -> None:
    await pilot.pause()


async def _to_consumers(pilot: Pilot[Any]) -> None:
    await pilot.press("x")
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)


def test_snapshot_new_rotation(world: World, snap_compare: Any) -> None:
    assert snap_compare(host_for(world), terminal_size=SIZE, run_before=_nothing)


def test_snapshot_switch_consumers(world: World, snap_compare: Any) -> None:
    assert snap_compare(host_for(world), terminal_size=SIZE, run_before=_to_consumers)


def test_snapshot_master_create_after_wrong_passphrase(world: World, snap_compare: Any) -> None:
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")

    async def wrong(pilot: Pilot[Any]) -> None:
        await pilot.press("x")
        await settle(pilot)
        await type_credentials(pilot, web.api_key, web.api_secret, "NewMasterPass-0")
        await pilot.press("d")
        await settle(pilot)

    assert snap_compare(host_for(world, MKEY_ID), terminal_size=SIZE, run_before=wrong)


async def test_pilot_ip_whitelist_field_at_plan(world: World) -> None:
    world.home.update_registry(lambda r: setattr(r.key_by_id(SUB_ID), "ip_whitelist_seen", ""))
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        assert "masked" in text_of(app, "#rot-note")
        assert len(world.sub_keys()) == 1
        app.screen.query_one("#rot-ips", Input).value = "10.1.2.3"
        await pilot.click("#rot-run")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
    new = [k for k in world.sub_keys() if k.api_key != world.old.api_key]
    assert [k.ip_whitelist for k in new] == [("10.1.2.3",)]


async def test_pilot_reveal_the_new_key_and_confirm_a_permission_drop(world: World) -> None:
    world.sim.key(world.old.api_key).permission = "General,Spot,Withdrawal"  # type: ignore[union-attr]
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("v")  # no new key yet: said so, nothing shown
        await pilot.pause()
        assert isinstance(app.screen, RotationScreen)
        assert "no new key to show yet" in text_of(app, "#rot-note")
        await pilot.press("x")
        await settle(pilot)
        # The plan stops on Withdrawal; d is the explicit confirm to drop it.
        assert "Withdrawal" in text_of(app, "#rot-note")
        assert "Mark done (d) confirms" in text_of(app, "#rot-note")
        assert [k.api_key for k in world.sub_keys()] == [world.old.api_key]
        await pilot.press("d")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
        await pilot.press("v")
        await pilot.pause()
        assert type(app.screen).__name__ == "RevealScreen"
        screen: Any = app.screen
        assert "New key of main/bot1sub/grid (PENDING)" in str(screen._title)
        assert not screen.revealed  # masked until r


# --------------------------------------------------------------------------- stray letters

STRAY = "Passphrase1asdx"  # every letter the screen ever bound, then enter


def words_on(app: App[Any]) -> str:
    """Every text shown on the current screen."""
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


def state_of(app: App[Any]) -> tuple[str, str, str]:
    return (
        type(app.screen).__name__,
        text_of(app, "#rot-step-title"),
        text_of(app, "#rot-note") if isinstance(app.screen, RotationScreen) else "",
    )


@pytest.mark.parametrize("button", ["#rot-done", "#rot-skip", "#rot-abort"])
async def test_letters_typed_on_a_button_do_nothing(world: World, button: str) -> None:
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
        app.screen.query_one(button).focus()
        await pilot.pause()
        before = state_of(app)
        await pilot.press(*STRAY)
        await settle(pilot)
        assert state_of(app) == before
        assert app.focused is app.screen.query_one(button)
    checklist = world.store.load(RID)
    assert checklist.is_open and checklist.abort_reason == ""
    assert checklist.consumers_switched == ()


async def test_abort_shows_the_reason_and_stores_it_only_when_confirmed(world: World) -> None:
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        await pilot.click("#rot-abort")
        await pilot.pause()
        dialog = app.screen
        assert type(dialog).__name__ == "ReasonModal"
        assert dialog.query_one(Input).value == ""  # nothing typed before lands in it
        await pilot.press(*"bot still on the old key", "enter")
        await pilot.pause()
        # Enter shows the reason with the button that stores it; nothing is stored yet.
        assert app.screen is dialog
        assert "bot still on the old key" in words_on(app)
        assert world.store.load(RID).is_open
        await pilot.press("enter")  # on "Abort rotation" now
        await settle(pilot)
        assert "Rotation aborted" in text_of(app, "#rot-step-title")
    assert world.store.load(RID).abort_reason.startswith("bot still on the old key")


async def test_escape_in_the_reason_dialog_stores_nothing(world: World) -> None:
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        await pilot.click("#rot-skip")
        await pilot.pause()
        await pilot.press(*"later", "escape")
        await settle(pilot)
        assert isinstance(app.screen, RotationScreen)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
    checklist = world.store.load(RID)
    assert checklist.is_open and checklist.step("switch-consumers").status.value == "pending"


async def test_deleting_the_old_key_waits_for_a_yes(world: World) -> None:
    old = world.old.credential()
    app = host_for(world)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("d")  # grid-bot switched
        await settle(pilot)
        await pilot.press("d")  # tax-export, the last one: next comes deleting the old key
        await settle(pilot)
        assert "Delete the old key" in text_of(app, "#rot-step-title")
        await pilot.press("d")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"
        assert "delete the old key" in words_on(app).lower()
        await pilot.press("n")
        await settle(pilot)
        assert "Delete the old key" in text_of(app, "#rot-step-title")
        assert await world.works(old)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "Rotation finished" in text_of(app, "#rot-step-title")
    assert await world.dead(old)


async def test_master_rotation_shows_the_whitelist_as_entered(world: World) -> None:
    world.home.update_registry(
        lambda r: setattr(r.key_by_id(MKEY_ID), "ip_whitelist_seen", "10.**.3")
    )
    app = host_for(world, MKEY_ID)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ips = app.screen.query_one("#rot-ips", Input)
        assert ips.display and "*" not in ips.value
        ips.value = "10.1.2.3"
        await pilot.click("#rot-run")
        await settle(pilot)
        assert "web UI" in text_of(app, "#rot-step-title")
        instructions = text_of(app, "#rot-instructions")
        assert "IP restriction: 10.1.2.3" in instructions and "*" not in instructions


def test_snapshot_abort_dialog_shows_the_reason(world: World, snap_compare: Any) -> None:
    async def reason_entered(pilot: Pilot[Any]) -> None:
        await pilot.click("#rot-abort")
        await pilot.pause()
        await pilot.press(*"bot still on the old key", "enter")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()

    assert snap_compare(host_for(world), terminal_size=SIZE, run_before=reason_entered)
