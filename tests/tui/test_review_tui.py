"""Review: locking the vault must hide what the unlocked vault showed."""

from __future__ import annotations

from kutui.demo import Demo

from .conftest import make_app, ready

SIZE = (120, 40)


async def test_ctrl_l_while_credentials_are_revealed_locks_and_hides_them(demo: Demo) -> None:
    app = make_app(demo)
    vault = app.vault
    assert vault is not None
    cred = vault.data.get("demo0001")
    assert cred is not None
    secret = cred.api_secret.reveal()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "v")
        await pilot.pause()
        assert type(app.screen).__name__ == "RevealScreen"
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.vault is None
        assert type(app.screen).__name__ == "UnlockScreen"
        assert not any(type(s).__name__ == "RevealScreen" for s in app.screen_stack)
        assert secret not in app.export_screenshot()


async def test_importing_known_subaccounts_does_not_claim_they_were_imported(demo: Demo) -> None:
    from kutui.tui.screens.import_progress import ImportScreen

    from .modal_host import screen_text

    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "i")  # alpha: every sub-account is already known
        assert isinstance(app.screen, ImportScreen)
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
        shown = screen_text(app)
        assert "added 0 sub-account(s)" in shown
        assert "3 imported" not in shown


async def test_g_and_G_move_the_tree_cursor_to_the_first_and_last_node(demo: Demo) -> None:
    """The README's g / G (top / bottom) hold in the tree as well as the table."""
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        tree = main.account_tree
        assert tree.has_focus
        await pilot.press("G")
        await pilot.pause()
        assert tree.cursor_line == tree.last_line > 0
        await pilot.press("g")
        await pilot.pause()
        assert tree.cursor_line == 0


async def test_ctrl_l_during_a_rotation_closes_it_so_it_cannot_run_on_the_locked_vault(
    demo: Demo,
) -> None:
    app = make_app(demo, transport=demo.transport())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("j", "j", "l", "r")
        await pilot.pause()
        assert type(app.screen).__name__ == "RotationScreen"
        await pilot.press("ctrl+l")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.vault is None
        names = [type(s).__name__ for s in app.screen_stack]
        assert "RotationScreen" not in names and names[-1] == "UnlockScreen"


async def test_reloading_the_registry_keeps_the_selected_tree_node(demo: Demo) -> None:
    """Closing an import, a rotation or an edit reloads the registry: the user stays put."""
    from kutui.tui.widgets.account_tree import NodeRef

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("j", "j")  # alpha, then its first sub-account
        await pilot.pause()
        chosen = main.account_tree.selected_ref
        assert chosen.sub and chosen == NodeRef("alpha", chosen.sub)
        app.load_registry()
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert main.account_tree.selected_ref == chosen
        assert main.node == chosen


def test_an_unchecked_key_is_not_described_as_unbound_or_drifting() -> None:
    """Before any successful check kutui knows neither the whitelist nor the permissions."""
    from kutui.model import ApiKey, KeyRef, PermissionNote
    from kutui.tui.widgets.detail import permissions_text, summary_text

    from .conftest import NOW

    key = ApiKey(
        "k1",
        KeyRef("main", "", "bot"),
        fingerprint="abcd",
        has_secret=True,
        note=PermissionNote("grid bot", ("General", "Spot"), ()),
    )
    summary = summary_text(key, NOW, {}).plain
    assert "none (any IP address may use this key)" not in summary
    assert "unknown" in summary.split("IP whitelist:")[1].splitlines()[0]
    perms = permissions_text(key, {}).plain
    assert "DRIFT" not in perms and "General" in perms and "Spot" in perms
    # Once a check has seen the key, an empty whitelist does mean "any IP", and drift is drift.
    checked = ApiKey(
        "k1",
        KeyRef("main", "", "bot"),
        fingerprint="abcd",
        has_secret=True,
        permissions_seen=("General",),
        note=PermissionNote("grid bot", ("General", "Spot"), ()),
    )
    assert "none (any IP address" in summary_text(checked, NOW, {}).plain
    assert "DRIFT: expected but not seen" in permissions_text(checked, {}).plain


async def test_the_palettes_copy_api_key_command_copies_it(demo: Demo) -> None:
    app = make_app(demo)
    vault = app.vault
    assert vault is not None
    cred = vault.data.get("demo0001")
    assert cred is not None
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("l", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"Copy API key")
        await pilot.pause(0.3)
        await pilot.press("enter")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.is_running
        assert app.clipboard == cred.api_key.reveal()


async def test_every_palette_command_names_an_action_it_can_call(demo: Demo) -> None:
    import inspect

    from textual.actions import parse

    from kutui.tui.commands import build_commands

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("j", "l")  # a node and a key selected: the most commands
        await pilot.pause()
        commands = build_commands(app)
        assert len(commands) > 20
        for command in commands:
            action = command.callback.args[1]  # type: ignore[attr-defined]
            namespace, name, params = parse(action)
            target = main if namespace == "screen" else app
            method = getattr(target, f"action_{name}", None)
            assert method is not None, command.title
            inspect.signature(method).bind(*params)  # TypeError if the arguments do not fit


async def test_removing_a_key_mid_rotation_is_refused_in_the_tui(demo: Demo) -> None:
    """Its PENDING credential (a new key's secret, shown once by KuCoin) must not be deleted."""
    from kutui.rotation.store import RotationStore
    from kutui.rotation.sub_flow import new_checklist

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        main = await ready(pilot, app)
        await pilot.press("l")  # the keys table: the first key is selected
        await pilot.pause()
        key = main.selected_key
        assert key is not None
        RotationStore(demo.home.paths.rotations_dir).save(
            new_checklist("r-open", key.id, str(key.ref), sub_name=key.ref.sub)
        )
        await pilot.press("d")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert demo.home.registry().key_by_id(key.id) is not None
    vault = demo.open_vault()
    assert vault.data.get(key.id) is not None  # the credentials are still in the vault
