"""Above ``COLLAPSED_ABOVE`` sub-accounts the accounts start collapsed and get their sub-account
nodes on first expand; the tree must still count every key and show them once expanded."""

from __future__ import annotations

import pytest

from kutui.demo import Demo
from kutui.tui.screens.main import MainScreen
from kutui.tui.widgets import account_tree
from kutui.tui.widgets.account_tree import NodeRef

from .conftest import make_app, ready

SIZE = (120, 40)


@pytest.fixture
def collapsed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo's few sub-accounts stand in for a home of thousands.
    monkeypatch.setattr(account_tree, "COLLAPSED_ABOVE", 0)


def _lines(main: MainScreen) -> list[str]:
    tree = main.account_tree
    return [str(tree.get_node_at_line(n).label) for n in range(tree.last_line + 1)]  # type: ignore[union-attr]


@pytest.mark.usefixtures("collapsed")
async def test_an_account_expanded_shows_its_sub_accounts_and_their_keys(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app, rounds=2)
        tree = main.account_tree
        account = next(a for a in app.registry.accounts if a.subaccounts)
        sub = account.subaccounts[0].name
        # Collapsed, the account's label still counts the keys of its sub-accounts.
        held = [k for k in app.registry.keys if k.ref.account == account.name]
        lines = _lines(main)
        assert not any(line.startswith(f"{sub} ") for line in lines)
        assert any(line.startswith(f"{account.name} {len(held)} ") for line in lines)
        tree.focus()
        tree.select_ref(NodeRef(account.name))
        await pilot.press("space")  # Tree's toggle
        await pilot.pause()
        assert any(line.startswith(f"{sub} ") for line in _lines(main))
        tree.select_ref(NodeRef(account.name, sub))
        await pilot.pause(0.3)
        under = {
            k.id for k in app.registry.keys if k.ref.account == account.name and k.ref.sub == sub
        }
        assert under and set(main.table.shown_ids) == under


@pytest.mark.usefixtures("collapsed")
async def test_a_selected_sub_account_stays_selected_after_a_reload(demo: Demo) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app, rounds=2)
        account = next(a for a in app.registry.accounts if a.subaccounts)
        ref = NodeRef(account.name, account.subaccounts[-1].name)
        main.account_tree.select_ref(ref)  # expands its collapsed account first
        await pilot.pause(0.3)
        assert main.account_tree.selected_ref == ref
        app.load_registry()
        await ready(pilot, app, rounds=2)
        assert main.account_tree.selected_ref == ref
        assert main.node == ref
