"""The front ends on an OpenBao home behave as on a local one: ``kutui check`` records what it
learned in the shared registry and its history in this host's kutui.db; the TUI opens without
a passphrase (the token is the unlock) and lists the shared keys."""

from __future__ import annotations

from pathlib import Path

from kutui.store.home import Home
from kutui.tui.app import KutuiApp
from kutui.tui.widgets.keys_table import KeysTable
from tests.openbao.conftest import MakeHome, Runner
from tests.openbao.test_rotation import seed


def test_check_learns_for_everyone_and_keeps_history_per_host(
    make_home: MakeHome, run: Runner, simulator: str
) -> None:
    alice, bob = make_home("alice"), make_home("bob")
    seed(alice, simulator)
    checked = run(alice, "check", "--all")
    assert checked.code == 0, checked.out + checked.err
    listed = run(bob, "key", "list")
    assert listed.code == 0
    lines = [line for line in listed.out.splitlines() if line.startswith("main/")]
    assert len(lines) == 2 and all(line.split()[3] == "ok" for line in lines), listed.out
    a, b = Home.load(alice.root), Home.load(bob.root)
    assert [len(a.history(k)) for k in ("k-master", "k-bot")] == [1, 1]
    assert b.histories() == {}
    a.close()
    b.close()


async def test_tui_lists_the_shared_keys_without_a_passphrase(
    make_home: MakeHome, simulator: str
) -> None:
    home = make_home("tui")
    seed(home, simulator)
    app = KutuiApp(Home.load(home.root), watch_tty=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        main = app.main
        assert main is not None and main.ready
        assert app.vault is not None
        assert main.query_one(KeysTable).row_count == 2


async def test_locking_on_openbao_drops_the_keys_and_asks_no_passphrase(
    make_home: MakeHome, simulator: str
) -> None:
    # A passphrase prompt here would take any answer: the keys are the server's, behind the
    # host's token. Locking drops what was fetched; unlocking fetches it again.
    home = make_home("tui-lock")
    seed(home, simulator)
    app = KutuiApp(Home.load(home.root), watch_tty=False)

    def unlocked() -> bool:
        return app.vault is not None

    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert unlocked()
        app.action_lock()
        await pilot.pause()
        assert not unlocked()
        assert type(app.screen).__name__ == "ConfirmModal"
        assert "OpenBao" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert unlocked() and app.main is not None and app.screen is app.main


def test_doctor_reports_the_shared_store(make_home: MakeHome, run: Runner) -> None:
    from tests.openbao.test_shared import creds, stdin_for

    home = make_home("doctor")
    assert run(home, "key", "add", "main/bot1", stdin=stdin_for(creds(1))).code == 0
    result = run(home, "doctor")
    assert "vault.kv1 does not exist" not in result.out
    store = [line for line in result.out.splitlines() if line.split()[1:2] == ["store"]]
    assert store and store[0].startswith("OK") and "1 key(s)" in store[0], result.out
    assert "1 credential(s) readable" in result.out


def test_one_factory_serves_both_stores(make_home: MakeHome, tmp_path: Path) -> None:
    from kutui.ops.stores import KeyStore, open_store, store_kind

    shared: KeyStore = open_store(make_home("shared").root)
    local_root = tmp_path / "local"
    local_root.mkdir(mode=0o700)
    local: KeyStore = open_store(local_root)
    assert (store_kind(shared), store_kind(local)) == ("openbao", "local")
    assert shared.vault_exists() and not local.vault_exists()
    assert shared.registry().keys == [] and local.registry().keys == []


def test_registry_export_and_import_use_the_shared_registry(
    make_home: MakeHome, run: Runner, tmp_path: Path
) -> None:
    from tests.openbao.test_shared import creds, stdin_for

    alice, bob = make_home("alice"), make_home("bob")
    assert (
        run(alice, "key", "add", "main/bot1", "--note", "old", stdin=stdin_for(creds(1))).code == 0
    )
    exported = run(bob, "export")
    assert exported.code == 0 and "bot1" in exported.out, exported.err
    edited = tmp_path / "registry.toml"
    edited.write_text(exported.out.replace('"old"', '"new note"'))
    imported = run(bob, "import-registry", str(edited))
    assert imported.code == 0, imported.err
    listed = run(alice, "key", "list")
    assert "new note" in listed.out
