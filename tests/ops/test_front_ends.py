"""The same action gives the same answer from ``kutui ...`` and from the TUI (issue 12, "Why").

Each rule is one test run twice: through ``kutui.cli.main`` (in a thread, as a shell would run
it) and through the TUI under Pilot, on the same kind of home: kutui.db, a real vault, and the
simulator behind real HTTP on loopback (``SimulatorServer``), so both front ends sign, send and
save for real.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from kutui.checks import in_child, runner
from kutui.checks.runner import CheckTarget
from kutui.cli import main
from kutui.clock import current
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.server import SimulatorServer
from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    Credential,
    KeyRef,
    Registry,
    Status,
    SubAccount,
)
from kutui.ops.accounts import url_problem
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault, VaultData
from kutui.tui.app import KutuiApp
from kutui.tui.screens.main import MainScreen
from kutui.tui.widgets.account_tree import NodeRef

FRONT_ENDS = ("cli", "tui")
PASSPHRASE = "front-end-tests-passphrase"
MASTER_UID, SUB1_UID, SUB2_UID = 7000, 7001, 7002
#: (API key, secret, passphrase) of main/sub1/bot and main/sub2/bot
BOT1 = ("6705f5c311545b000157d3eb", "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3", "Ab12345678")
BOT2 = ("6705f5c311545b0001570b02", "0a1b2c3d-0000-4000-8000-0123456789ab", "Cd12345678")
SIZE = (120, 40)


@dataclass
class World:
    root: Path
    pw_file: Path
    url: str
    ids: dict[str, str]  # "main/sub1/bot" -> key id

    def home(self) -> Home:
        return Home.load(self.root)


def _home_with_keys(tmp_path: Path, url: str, sim: Simulator) -> World:
    """main (uid unknown) with sub1 (uid known: 7001) and sub2 (uid unknown); a key with a secret
    in each, and main/sub2/listed, which ``kutui import`` listed without one."""
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    (root / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    (root / "config.toml").chmod(0o600)
    pw_file = tmp_path / "pf"
    pw_file.write_text(PASSPHRASE + "\n")
    pw_file.chmod(0o600)
    home = Home.load(root)
    vault = Vault.create(
        home.paths.vault,
        passphrase=Secret(PASSPHRASE),
        kdf=KdfParams(memory_kib=64, iterations=1, lanes=1),
        allow_weak=True,
    )
    sim.add_user(MASTER_UID)
    for uid, name in ((SUB1_UID, "sub1"), (SUB2_UID, "sub2")):
        sim.add_user(uid, sub_name=name, master_uid=MASTER_UID)
    keys = [
        ApiKey(
            "k-sub1-bot", KeyRef("main", "sub1", "bot"), fingerprint=BOT1[0][-4:], has_secret=True
        ),
        ApiKey(
            "k-sub2-bot", KeyRef("main", "sub2", "bot"), fingerprint=BOT2[0][-4:], has_secret=True
        ),
        ApiKey("k-sub2-listed", KeyRef("main", "sub2", "listed"), "ab12", has_secret=False),
    ]
    creds: dict[str, Credential] = {}
    for key, uid, (api_key, secret, passphrase) in zip(
        keys[:2], (SUB1_UID, SUB2_UID), (BOT1, BOT2), strict=True
    ):
        sim.add_key(uid, api_key=api_key, api_secret=secret, passphrase=passphrase)
        creds[key.id] = Credential(Secret(api_key), Secret(secret), Secret(passphrase))

    def put(data: VaultData) -> None:
        for key_id, cred in creds.items():
            data.put(key_id, cred)

    vault.update(put)
    vault.close()

    def fill(reg: Registry) -> None:
        subs = [SubAccount("sub1", uid=SUB1_UID), SubAccount("sub2")]
        reg.accounts.append(Account("main", api_url=url, subaccounts=subs))
        reg.keys.extend(keys)

    home.update_registry(fill)
    return World(root, pw_file, url, {str(k.ref): k.id for k in keys})


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sim = Simulator(clock=current().ms)
    server = SimulatorServer(sim, port=0)
    await server.start()
    try:
        yield _home_with_keys(tmp_path, server.url, sim)
    finally:
        await server.close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUTUI_HOME", str(tmp_path / "unused-home"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


@dataclass
class Said:
    """What a front end answered: the exit code (the TUI: 0, or 2 after an error toast) and the
    words (stderr and stdout, or the toasts and form errors)."""

    code: int
    text: str


async def cli(
    world: World, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> Said:
    def run() -> int:
        sys.stdin = io.StringIO(stdin)
        try:
            return main(["--home", str(world.root), "--passphrase-file", str(world.pw_file), *argv])
        finally:
            sys.stdin = sys.__stdin__

    code = await asyncio.to_thread(run)
    out, err = capsys.readouterr()
    return Said(code, err + out)


def tui_app(world: World) -> KutuiApp:
    home = world.home()
    return KutuiApp(home, vault=home.open_vault(passphrase=Secret(PASSPHRASE)), watch_tty=False)


async def settle(pilot: Any, app: KutuiApp) -> MainScreen:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    screen = app.main
    assert screen is not None and screen.ready
    return screen


def toasts(app: KutuiApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def select_key(pilot: Any, app: KutuiApp, ref: str) -> None:
    """Jump to the key's node, focus the table, move the cursor to the key."""
    screen = await settle(pilot, app)
    parsed = KeyRef.parse(ref)
    screen.action_jump(parsed.account, parsed.sub)
    await settle(pilot, app)
    screen.table.focus()
    await pilot.pause()
    for _ in range(len(screen.keys_of(screen.node))):
        if screen.selected_key is not None and str(screen.selected_key.ref) == ref:
            return
        await pilot.press("down")
    assert screen.selected_key is not None and str(screen.selected_key.ref) == ref


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("front_end", FRONT_ENDS)
async def test_saving_check_results(
    world: World, front_end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key with no stored secret is left untouched and not counted failing; what KuCoin says
    about the others (the uid of their sub-account) is stored."""
    if front_end == "cli":
        said = await cli(world, capsys, "check", "--all")
        assert said.code == 0, said.text  # unchecked does not change the exit code
    else:
        app = tui_app(world)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, app)
            await pilot.press("C")
            await settle(pilot, app)
            assert "2 ok, 0 failing" in toasts(app)
            await app.action_quit()
    home = world.home()
    registry = home.registry()
    listed = registry.key_by_id(world.ids["main/sub2/listed"])
    assert listed is not None and listed.last_check is None and not listed.has_secret
    assert home.history(world.ids["main/sub2/listed"]) == []
    for ref in ("main/sub1/bot", "main/sub2/bot"):
        key = registry.key_by_id(world.ids[ref])
        assert key is not None and key.status is Status.OK
        assert [e.status for e in home.history(key.id)] == [Status.OK]
    account = registry.account("main")
    assert account is not None
    sub2 = account.sub("sub2")
    assert sub2 is not None and sub2.uid == SUB2_UID


@pytest.mark.parametrize("front_end", FRONT_ENDS)
async def test_check_targets_and_pacing(
    world: World,
    front_end: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both front ends send each key to its account's API URL, paced in its sub-account's pool:
    by uid when it is known (sub1), by name until a check learns it (sub2); a key without a
    secret goes with no credential."""
    seen: list[CheckTarget] = []
    real = runner.run_checks

    def recording(targets: Sequence[CheckTarget], **kwargs: Any) -> AsyncIterator[Any]:
        seen.extend(targets)
        return real(targets, **kwargs)

    monkeypatch.setattr(runner, "run_checks", recording)
    # The TUI's real engine runs in a child process (kutui/checks/in_child.py): its targets are
    # recorded where the TUI hands them over.
    child_init = in_child.ChildRun.__init__

    def handed_over(run: in_child.ChildRun, settings: Any, targets: Any, *a: Any) -> None:
        seen.extend(targets)
        child_init(run, settings, targets, *a)

    monkeypatch.setattr(in_child.ChildRun, "__init__", handed_over)
    if front_end == "cli":
        await cli(world, capsys, "check", "main")
    else:
        app = tui_app(world)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settle(pilot, app)
            screen.action_jump("main", "")
            await settle(pilot, app)
            await pilot.press("c")
            await settle(pilot, app)
            await app.action_quit()
    by_ref = {str(t.ref): t for t in seen}
    assert set(by_ref) == {"main/sub1/bot", "main/sub2/bot", "main/sub2/listed"}
    assert {t.api_url for t in seen} == {world.url}
    assert by_ref["main/sub1/bot"].pool == f"{world.url}|{SUB1_UID}"
    assert by_ref["main/sub2/bot"].pool == f"{world.url}|main/sub2"
    assert by_ref["main/sub2/listed"].credential is None
    assert by_ref["main/sub1/bot"].credential is not None


@pytest.mark.parametrize("front_end", FRONT_ENDS)
async def test_an_api_url_with_a_path_is_refused_with_the_same_words(
    world: World, front_end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://api.kucoin.com/api"
    words = url_problem(url)
    assert words is not None and "path" in words
    if front_end == "cli":
        said = await cli(world, capsys, "account", "add", "other", "--api-url", url)
        assert said.code == 2
    else:
        app = tui_app(world)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settle(pilot, app)
            screen.account_tree.focus()
            screen.account_tree.select_ref(NodeRef("", None))
            await settle(pilot, app)
            await pilot.press("A")
            await pilot.pause()
            assert type(app.screen).__name__ == "AccountForm"
            app.screen.query_one("#name", Input).value = "other"
            app.screen.query_one("#api_url", Input).value = url
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert type(app.screen).__name__ == "AccountForm"  # refused: the form stays
            shown = str(app.screen.query_one("#api_url-error").render())
            said = Said(2, shown)
    assert words in " ".join(said.text.split())
    assert world.home().registry().account("other") is None


@pytest.mark.parametrize("front_end", FRONT_ENDS)
async def test_an_api_key_stored_under_another_name_is_refused(
    world: World, front_end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = world.home().registry()
    if front_end == "cli":
        said = await cli(world, capsys, "key", "add", "main/sub1/copy", stdin="\n".join(BOT1))
        assert said.code == 2
    else:
        app = tui_app(world)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await settle(pilot, app)
            screen.action_jump("main", "sub1")
            await settle(pilot, app)
            await pilot.press("a")
            await pilot.pause()
            assert type(app.screen).__name__ == "KeyForm"
            form = app.screen
            for field, value in zip(
                ("#label", "#api_key", "#api_secret", "#passphrase"), ("copy", *BOT1), strict=True
            ):
                form.query_one(field, Input).value = value
            await pilot.press("ctrl+s")
            await settle(pilot, app)
            said = Said(2, toasts(app))
    assert "this API key (…d3eb) is already stored as main/sub1/bot" in said.text
    after = world.home().registry()
    assert after.key(KeyRef("main", "sub1", "copy")) is None
    assert [k.id for k in after.keys] == [k.id for k in before.keys]


@pytest.mark.parametrize("front_end", FRONT_ENDS)
async def test_removing_a_key_removes_its_history_and_credentials(
    world: World, front_end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = world.ids["main/sub1/bot"]
    home = world.home()
    home.record_results([(key_id, CheckResult(Status.OK, current().now()))])
    assert len(home.history(key_id)) == 1
    if front_end == "cli":
        said = await cli(world, capsys, "key", "remove", "main/sub1/bot", "--yes")
        assert said.code == 0, said.text
    else:
        app = tui_app(world)
        async with app.run_test(size=SIZE) as pilot:
            await select_key(pilot, app, "main/sub1/bot")
            await pilot.press("d")
            await pilot.pause()
            assert type(app.screen).__name__ == "ConfirmModal"
            await pilot.press("y")
            await settle(pilot, app)
    home = world.home()
    assert home.registry().key_by_id(key_id) is None
    assert home.history(key_id) == []
    vault = home.open_vault(passphrase=Secret(PASSPHRASE))
    assert key_id not in vault.data.key_ids()
    assert vault.data.get(world.ids["main/sub2/bot"]) is not None  # the others stay
