"""The leak scan: a whole user session, then every byte kutui wrote or printed is searched.

Session (one home, `kutui simulate` on loopback): init, accounts, two keys added from stdin, a
health check, a sub-account key rotation (create, verify, promote, DELETE of the old key with its
passphrase in the query string), then the TUI: a note edited, the secret revealed, the API key and
the API secret copied (OSC 52), the vault locked. Every CLI command runs with ``--debug`` and every
logger (httpx and httpcore included) at DEBUG.

Scanned for every secret (vault passphrase; old, master and rotated key, secret and passphrase),
in clear, base64 at all alignments, hex and URL-encoded: every file under the home, all captured
stdout/stderr, every log record, the TUI's terminal output except the OSC 52 payloads the user
asked for, and a screenshot. The committed snapshot SVGs are scanned for the demo's secrets.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kutui.cli import main
from kutui.demo import DEMO_PASSPHRASE, build_demo
from kutui.model import Slot
from kutui.secret import Secret
from kutui.store.home import Home
from tests.faults.leakscan import Finding, LeakScanner
from tests.simulate_process import simulate

REPO = Path(__file__).resolve().parents[2]
VAULT_PW = "leak-scan-vault-passphrase-31"
MASTER = ("65f0c0ffee0000000000a11c", "7a3e0c1d-2b4f-4e6a-9c8d-0f1e2d3c4b5a", "MasterPass-77")
OLD = ("65f0c0ffee0000000000b0b0", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "OldPass/+&=9x")
STATE = f"""
[[users]]
uid = 1001

[[users]]
uid = 2001
sub_name = "bot1sub"
master_uid = 1001

[[keys]]
uid = 1001
api_key = "{MASTER[0]}"
api_secret = "{MASTER[1]}"
passphrase = "{MASTER[2]}"
permission = "General"

[[keys]]
uid = 2001
api_key = "{OLD[0]}"
api_secret = "{OLD[1]}"
passphrase = "{OLD[2]}"
permission = "General,Spot"
ip_whitelist = ["127.0.0.1"]
remark = "grid"
"""
OSC52 = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")


#: The KuCoin credential shapes (TruffleHog's detector, docs/security.md, "What the tests try").
SHAPES = (
    re.compile(rb"(?<![0-9a-fA-F])[0-9a-f]{24}(?![0-9a-fA-F])"),
    re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I),
)


def shaped_secrets(root: Path) -> list[str]:
    """Files outside the vault holding anything shaped like an API key or secret."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("vault.kv1"):
            data = path.read_bytes()
            found += [f"{path}: {p.pattern!r}" for p in SHAPES if p.search(data)]
    return found


@dataclass
class Captured:
    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    state = tmp_path / "sim-state.toml"  # outside the home: the simulator's own secrets
    with simulate(state, STATE) as url:
        yield url


@pytest.fixture
def everything_at_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """kutui quietens httpx/httpcore to WARNING (their INFO lines carry full URLs); pin them at
    DEBUG so the redaction on the handlers, not the quieting, is what is tested."""
    for name in ("httpx", "httpcore", "kutui"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "level", logging.DEBUG)
        monkeypatch.setattr(logger, "setLevel", lambda level: None)


def _cli_session(
    home: Path,
    pw_file: Path,
    url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    captured: Captured,
) -> None:
    def kutui(*argv: str, stdin: str = "", expect: int = 0) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--debug", "--home", str(home), "--passphrase-file", str(pw_file), *argv])
        out, err = capsys.readouterr()
        captured.add(f"stdout of kutui {' '.join(argv)}", out)
        captured.add(f"stderr of kutui {' '.join(argv)}", err)
        assert code == expect, f"kutui {' '.join(argv)} exited {code}: {err[-500:]}"

    kutui("init")
    kutui("account", "add", "main", "--api-url", url)
    kutui("account", "add", "main/bot1sub")
    kutui("key", "add", "main/admin", "--note", "master key", stdin="\n".join(MASTER) + "\n")
    kutui("key", "add", "main/bot1sub/grid", stdin="\n".join(OLD) + "\n")
    kutui("check", "--all")
    kutui("check", "--all", "--json")
    # Consumers: an env file, a freqtrade config and a passivbot file, outside the home.
    bots = home.parent / "bots"
    bots.mkdir(mode=0o700)
    (bots / "config.json").write_text('{"dry_run": true, "exchange": {"name": "kucoin"}}\n')
    for name, kind, extra in (
        ("env", "envfile", ("--path", str(bots / "grid.env"))),
        ("ft", "freqtrade", ("--path", str(bots / "config.json"), "--reload", "true")),
        ("pb", "passivbot", ("--path", str(bots / "api-keys.json"), "--user", "u1")),
    ):
        kutui("consumer", "add", "main/bot1sub/grid", "--name", name, "--kind", kind, *extra)
    kutui("deliver", "main/bot1sub/grid")
    kutui("consumer", "list", "--json")
    kutui("key", "show", "main/bot1sub/grid")
    kutui("rotate", "main/bot1sub/grid", "--ip-whitelist", "127.0.0.1", expect=2)
    kutui("key", "show", "main/bot1sub/grid", "--pending", expect=2)  # stopped before create
    kutui("rotate", "main/bot1sub/grid", "--resume", "--yes")
    kutui("consumer", "list")
    kutui("key", "list", "--json")


async def _tui_session(home: Path, captured: Captured) -> list[str]:
    """Note, reveal, copy key, copy secret (confirmed), lock. Returns the OSC 52 payloads."""
    from kutui.tui.app import KutuiApp

    kutui_home = Home.load(home)
    vault = kutui_home.open_vault(passphrase=Secret(VAULT_PW))
    app = KutuiApp(kutui_home, vault=vault, watch_tty=False)
    terminal: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        driver: Any = app._driver
        driver.write = terminal.append  # the headless driver drops output: keep it instead
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.main is not None and app.main.ready
        await pilot.press("l")
        assert app.main.selected_key is not None
        await pilot.press("n", "end", *" Rotated.", "ctrl+s")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert not any(OSC52.search(t) for t in terminal), "OSC 52 before any copy"
        await pilot.press("v")
        assert type(app.screen).__name__ == "RevealScreen"
        await pilot.press("escape")
        await pilot.press("y")
        await pilot.press("Y")
        await pilot.press("y")
        await pilot.pause()
        captured.add("TUI screenshot", app.export_screenshot())
        await pilot.press("ctrl+l")
        await pilot.pause()
    stream = "".join(terminal)
    payloads = OSC52.findall(stream)
    captured.add("TUI terminal output without OSC 52", OSC52.sub("", stream))
    return payloads


def test_a_whole_session_leaks_no_secret(
    tmp_path: Path,
    simulator: str,
    everything_at_debug: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('[vault]\nunlock = "passphrase"\nargon2_memory_mib = 64\n')
    (home / "config.toml").chmod(0o600)
    pw_file = tmp_path / "pw"
    pw_file.write_text(VAULT_PW + "\n")
    pw_file.chmod(0o600)
    captured = Captured()

    _cli_session(home, pw_file, simulator, capsys, monkeypatch, captured)
    payloads = asyncio.run(_tui_session(home, captured))  # sync test: the CLI runs its own loop
    out, err = capsys.readouterr()
    captured.add("stdout of the TUI run", out)
    captured.add("stderr of the TUI run", err)
    captured.add("log records", "\n".join(r.getMessage() for r in caplog.records))
    captured.add("log text", caplog.text)

    # Where the session really went: a rotated key, a DELETE, an explicit copy of key and secret.
    vault = Home.load(home).open_vault(passphrase=Secret(VAULT_PW))
    key_ids = [k.id for k in Home.load(home).registry().keys]
    slots = {key_id: vault.data.slots(key_id) for key_id in key_ids}
    new = next(
        s[Slot.CURRENT] for s in slots.values() if s[Slot.CURRENT].api_key.reveal() != MASTER[0]
    )
    assert new.api_key.reveal() != OLD[0], "the rotation did not replace the key"
    # The client sends through httpx transports directly, so httpx itself logs no request line;
    # kutui's own DEBUG line for the sub-key DELETE must be there (and is scanned below).
    assert any("DELETE" in r.getMessage() for r in caplog.records), "no DELETE was logged"
    assert len(payloads) == 3 and payloads[-1] == "", "copy key, copy secret, then a clear"
    notes = [k.note.text for k in Home.load(home).registry().keys]
    assert any(text.endswith("Rotated.") for text in notes), "the TUI note edit was not saved"

    secrets = {
        "vault passphrase": VAULT_PW,
        **{f"master {n}": v for n, v in zip(("key", "secret", "passphrase"), MASTER, strict=True)},
        **{f"old {n}": v for n, v in zip(("key", "secret", "passphrase"), OLD, strict=True)},
        "new key": new.api_key.reveal(),
        "new secret": new.api_secret.reveal(),
        "new passphrase": new.passphrase.reveal(),
    }
    scanner = LeakScanner(secrets)
    findings: list[Finding] = scanner.scan_tree(home)
    findings += scanner.scan_all(captured.texts)
    assert {p.name for p in home.rglob("*")} >= {"vault.kv1", "kutui.db", "config.toml"}
    assert any(p.endswith(".toml") and "rotations" in p for p in scanner.scanned)
    assert [str(f) for f in findings] == []
    assert shaped_secrets(home) == []

    # Outside the home, only the declared consumer targets hold a key: the new one, nothing else.
    targets = {tmp_path / "bots" / n for n in ("grid.env", "config.json", "api-keys.json")}
    own = {tmp_path / "sim-state.toml", tmp_path / "pw"}  # the simulator's and the test's own
    outside = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p not in targets | own and home not in p.parents
    ]
    findings = [f for p in outside for f in scanner.scan_file(p)]
    assert [str(f) for f in findings] == []
    assert {p for p in (tmp_path / "bots").iterdir()} == targets  # no temp file left behind
    for target in targets:
        assert target.stat().st_mode & 0o777 == 0o600
        assert new.api_secret.reveal() in target.read_text()
    not_new = LeakScanner({k: v for k, v in secrets.items() if not k.startswith("new ")})
    assert [str(f) for t in targets for f in not_new.scan_file(t)] == []
    assert not any(
        "passphrase=" in r.getMessage() and "passphrase=****" not in r.getMessage()
        for r in caplog.records
    ), "a passphrase= query parameter was logged"


def test_committed_snapshots_hold_no_demo_secret(tmp_path: Path) -> None:
    """The snapshots are rendered from the demo (fixed seed): none may show a demo credential.
    The reveal screen's snapshot is the masked one; the demo passphrase is printed on purpose."""
    demo = build_demo(tmp_path / "demo", prechecked=True)
    vault = demo.open_vault()
    secrets: dict[str, str] = {}
    for key in demo.home.registry().keys:
        for slot, cred in vault.data.slots(key.id).items():
            secrets[f"{key.ref} {slot.value} key"] = cred.api_key.reveal()
            secrets[f"{key.ref} {slot.value} secret"] = cred.api_secret.reveal()
            secrets[f"{key.ref} {slot.value} passphrase"] = cred.passphrase.reveal()
    assert DEMO_PASSPHRASE  # shown in the unlock hint by design, so not scanned
    scanner = LeakScanner(secrets)
    findings = []
    for snapshots in REPO.glob("tests/**/__snapshots__"):
        findings += scanner.scan_tree(snapshots, pattern="*.svg")
    assert len(scanner.scanned) >= 10
    assert [str(f) for f in findings] == []
