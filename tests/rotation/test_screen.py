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
        # Before the delete: the question names both keys; d confirms it.
        assert "Delete the old key" in text_of(app, "#rot-step-title")
        assert "Mark done (d) confirms" in text_of(app, "#rot-note")
        assert await world.works(old)
        await pilot.press("d")
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
        await pilot.press("a")
        await pilot.press(*"not today")
        await pilot.press("enter")
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
