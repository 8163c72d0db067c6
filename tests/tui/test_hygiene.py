"""No secret in snapshots, in the Textual log, or in the crash output of a forced exception."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import textual.constants

from kutui.demo import DEMO_PASSPHRASE, Demo

from .conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"
CRASH_SECRET = "5c1d2e3f-aaaa-4bbb-8ccc-0123456789ab"


def demo_secrets(demo: Demo) -> list[str]:
    vault = demo.open_vault()
    values: list[str] = []
    for key_id in vault.data.key_ids():
        cred = vault.data.get(key_id)
        assert cred is not None
        values += [cred.api_key.reveal(), cred.api_secret.reveal(), cred.passphrase.reveal()]
    return values


def test_no_demo_secret_in_any_snapshot(demo: Demo) -> None:
    # The snapshot tests build the same seeded demo, so these are the values they could leak.
    svgs = sorted(SNAPSHOTS.rglob("*.svg"))
    assert svgs, "no snapshots found: run the snapshot tests first"
    secrets = demo_secrets(demo)
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{svg.name} shows a secret"


async def test_no_secret_in_the_textual_log(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "textual.log"
    monkeypatch.setattr(textual.constants, "LOG_FILE", str(log))
    app = make_app(demo, unlocked=False, transport=demo.transport())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*DEMO_PASSPHRASE, "enter")  # unlock by typing the vault passphrase
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.vault is not None
        await pilot.press("C")  # sign 40 requests with the stored secrets
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.press("l", "y", "v")  # copy the API key, reveal the credentials
        await pilot.pause(0.2)
        app.log("a line so the test knows the log is written", app=app)
    text = log.read_text(encoding="utf-8")
    assert "a line so the test knows the log is written" in text
    for secret in [*demo_secrets(demo), DEMO_PASSPHRASE]:
        assert secret not in text


def _crash(home: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUTUI_HOME": str(home), "TEXTUAL_ANIMATIONS": "none"}
    return subprocess.run(
        [sys.executable, "-m", "tests.tui.crash.boom_app", str(home), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_crash_output_shows_no_locals(tmp_path: Path) -> None:
    ours = _crash(tmp_path / "home")
    assert ours.returncode != 0
    assert "RuntimeError" in ours.stderr and "signing failed" in ours.stderr
    assert CRASH_SECRET not in ours.stderr + ours.stdout
    # A careless message carrying the secret is redacted too.
    careless = _crash(tmp_path / "home3", "--secret-in-message")
    assert "signing failed" in careless.stderr
    assert CRASH_SECRET not in careless.stderr + careless.stdout
    # Control: Textual's own handler prints the local, so the check above can fail.
    theirs = _crash(tmp_path / "home2", "--textual-default")
    assert CRASH_SECRET in theirs.stderr + theirs.stdout
