"""The key's detail pane lists its consumers and their last delivery (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Static

from kutui.model import Consumer, ConsumerKind, Delivery, DeliveryStatus, now_utc
from kutui.tui.app import KutuiApp
from kutui.tui.widgets.detail import KeyDetail, consumers_text
from tests.rotation.world import SUB_ID, make_world


def test_consumers_text_names_each_and_its_last_delivery() -> None:
    when = now_utc()
    consumers = [
        Consumer(
            "k",
            "grid\x1b[2J",
            ConsumerKind.ENVFILE,
            target="/srv/grid.env",
            last_delivery=Delivery(when, "9f2a", DeliveryStatus.DELIVERED),
        ),
        Consumer("k", "tax", ConsumerKind.MANUAL),
    ]
    lines = consumers_text(consumers).plain.splitlines()
    assert lines[0].startswith("consumer grid (envfile /srv/grid.env): delivered …9f2a on ")
    assert lines[1] == "consumer tax (manual): never delivered"
    assert "\x1b" not in lines[0]


async def test_the_detail_pane_shows_a_keys_consumers(tmp_path: Path) -> None:
    world = make_world(tmp_path / "home", consumers=())
    world.home.put_consumer(
        Consumer(SUB_ID, "grid-env", ConsumerKind.ENVFILE, target=str(tmp_path / "grid.env"))
    )
    world.home.record_delivery(
        SUB_ID, "grid-env", Delivery(now_utc(), "aaaa", DeliveryStatus.DELIVERED, "written")
    )
    app = KutuiApp(world.home, vault=world.vault, watch_tty=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.main is not None
        app.main.show_detail(SUB_ID)
        await pilot.pause()
        shown: Any = app.main.query_one(KeyDetail).query_one("#detail-rotations", Static)
        text = str(shown.render())
        assert "consumer grid-env (envfile" in text and "delivered …aaaa" in text


async def test_consumers_are_added_and_removed_from_the_tui(tmp_path: Path) -> None:
    from textual.widgets import Button, Input, Select

    from kutui.tui.screens.consumers import ConsumersScreen

    world = make_world(tmp_path / "home", consumers=())
    app = KutuiApp(world.home, vault=world.vault, watch_tty=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.push_screen(ConsumersScreen(world.home, world.key()))
        await pilot.pause()
        screen = app.screen
        screen.query_one("#consumer-name", Input).value = "grid-env"
        screen.query_one("#consumer-kind", Select).value = "passivbot"
        screen.query_one("#consumer-target", Input).value = str(tmp_path / "api-keys.json")
        screen.query_one("#consumer-add", Button).press()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = str(screen.query_one("#consumers-message", Static).render())
        assert "needs --user" in message and world.home.consumers(SUB_ID) == []
        screen.query_one("#consumer-kind", Select).value = "envfile"
        screen.query_one("#consumer-target", Input).value = str(tmp_path / "grid.env")
        screen.query_one("#consumer-add", Button).press()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = str(screen.query_one("#consumers-message", Static).render())
        assert [c.name for c in world.home.consumers(SUB_ID)] == ["grid-env"], message
        assert "consumer grid-env (envfile" in str(
            screen.query_one("#consumers-list", Static).render()
        )
        screen.query_one("#consumer-remove", Button).press()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert world.home.consumers(SUB_ID) == []
