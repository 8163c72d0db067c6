"""One home, two kutuis at once: the TUI checking on the simulator while ``kutui check --all``
runs in another process. kutui.db takes both writers (WAL, BEGIN IMMEDIATE, docs/storage.md):
every result of both is stored, none lost to the other's save."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from kutui.demo import DEMO_PASSPHRASE, build_demo
from kutui.kucoin.simulator.server import SimulatorServer
from kutui.store.home import Home

from .conftest import make_app

ROOT = Path(__file__).resolve().parents[2]


async def test_a_tui_check_and_a_cli_check_at_once_store_every_result(tmp_path: Path) -> None:
    demo = build_demo(tmp_path / "home")  # kutui.clock.current(): the CLI process signs by it
    root = demo.home.paths.data_dir
    secret_ids = {k.id for k in demo.home.registry().keys if k.has_secret}
    passphrase = tmp_path / "pf"
    passphrase.write_text(DEMO_PASSPHRASE + "\n")
    passphrase.chmod(0o600)
    server = SimulatorServer(demo.simulator, port=0)
    await server.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KUTUI_HOME", None)
    try:
        app = make_app(demo, transport=demo.transport())
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("C")  # the TUI's first run, then the CLI's, at the same time
            await pilot.pause(0.1)
            assert app.main is not None
            checking_when_cli_started = app.main.checking
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kutui",
                "--home",
                str(root),
                "--passphrase-file",
                str(passphrase),
                "check",
                "--all",
                "--api-url",
                server.url,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            runs = 0
            while True:  # the TUI checks (and saves) again until the CLI is done
                await app.workers.wait_for_complete()
                app.save_results_soon(force=True)
                await app.workers.wait_for_complete()
                runs += 1
                if cli.returncode is not None or runs > 60:
                    break
                await pilot.press("C")
                await pilot.pause(0.1)
            await app.action_quit()  # as `q` does: whatever is not saved yet is written first
            _, err = await asyncio.wait_for(cli.communicate(), 60)
    finally:
        await server.close()
    assert cli.returncode in (0, 1), err.decode()
    assert b"unexpected" not in err and b"held the database" not in err
    history = Home.load(root).histories()
    assert set(history) == secret_ids
    # Every TUI run and the CLI run: one entry each per key, whatever the order of the saves.
    assert {key_id: len(history[key_id]) for key_id in secret_ids} == dict.fromkeys(
        secret_ids, runs + 1
    )
    assert checking_when_cli_started  # the two runs overlapped
