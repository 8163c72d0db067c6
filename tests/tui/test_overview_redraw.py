"""The overview (root selected) is drawn again only when what it shows can have changed: the
keys, their results, or a key's age in days as the clock moves on."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Label

from kutui.demo import Demo
from kutui.tui.screens.main import MainScreen
from kutui.tui.widgets.account_tree import ROOT

from .conftest import make_app, ready

SIZE = (120, 40)


def _ages(main: MainScreen) -> list[str]:
    return [str(label.render()) for label in main.query(".age-days").results(Label)]


async def test_the_oldest_keys_age_by_a_day_when_the_clock_does(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app, rounds=2)
        before = _ages(main)
        assert before
        main.show_node(ROOT)  # the same keys, the same time: the same overview
        await pilot.pause()
        assert _ages(main) == before
        app.clock = app.clock.shifted(timedelta(days=1))
        main.show_node(ROOT)
        await pilot.pause()
        after = _ages(main)
        first = int(before[0].split("d")[0])
        assert after[0].split("d")[0].strip() == str(first + 1)
