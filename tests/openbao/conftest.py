"""Fixtures for the OpenBao tests: one real ``bao server -dev`` for the session (a free loopback
port, a random root token), and kutui homes on it, each test under its own prefix.

The server must run where the suite runs: with ``CI=true`` a server that cannot start fails the
session's OpenBao tests instead of skipping them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kutui.cli import main
from tests.openbao.server import DevServer, start_dev_server
from tests.simulate_process import simulate


@pytest.fixture(scope="session")
def bao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    try:
        server = start_dev_server(tmp_path_factory.mktemp("openbao"))
    except (RuntimeError, OSError, ImportError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"OpenBao dev server could not start in CI: {exc}")
        pytest.skip(f"OpenBao dev server could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[DevServer]:
    """A short-lived server of this test's own, for what breaks it (stop, seal)."""
    try:
        server = start_dev_server(tmp_path / "own-openbao")
    except (RuntimeError, OSError, ImportError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"OpenBao dev server could not start in CI: {exc}")
        pytest.skip(f"OpenBao dev server could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class BaoHome:
    """A kutui home whose [store] is the server, under ``prefix``; the token is $BAO_TOKEN."""

    root: Path
    server: DevServer
    prefix: str
    token: str

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BAO_", "VAULT_")) and k != "CREDENTIALS_DIRECTORY"
        }
        env.update(KUTUI_HOME=str(self.root), BAO_TOKEN=self.token, HOME=str(self.root))
        return env

    def kutui(self, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """``python -m kutui`` as a user runs it, in a process of its own."""
        return subprocess.run(
            [sys.executable, "-m", "kutui", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
            check=False,
        )


MakeHome = Callable[..., BaoHome]


def write_config(root: Path, server: DevServer, prefix: str, extra: str = "") -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = root / "config.toml"
    config.write_text(
        '[vault]\nunlock = "passphrase"\n\n'
        f'[store]\nkind = "openbao"\naddr = "{server.addr}"\nprefix = "{prefix}"\n{extra}'
    )
    config.chmod(0o600)


@pytest.fixture
def prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_home(
    tmp_path: Path, bao_server: DevServer, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> MakeHome:
    """``make_home("a")``: a home on the session server under this test's prefix."""
    for name in ("BAO_TOKEN", "VAULT_TOKEN", "CREDENTIALS_DIRECTORY", "BAO_ADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAO_TOKEN", bao_server.root_token)
    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.vault-token is never the real one

    def make(
        name: str,
        *,
        server: DevServer | None = None,
        extra: str = "",
        token: str | None = None,
    ) -> BaoHome:
        on = server or bao_server
        root = tmp_path / name
        write_config(root, on, prefix, extra)
        return BaoHome(root, on, prefix, token or on.root_token)

    return make


Runner = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """``kutui --home HOME ARGV...`` in this process (stdin is not a terminal)."""

    def go(home: BaoHome, *argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        monkeypatch.setenv("BAO_TOKEN", home.token)
        code = main(["--home", str(home.root), *argv])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return go


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    """``kutui simulate`` with a master (uid 1001) and its sub-account bot1sub (uid 2001)."""
    state = tmp_path / "sim.toml"
    from tests.rotation.test_cli import STATE

    with simulate(state, STATE) as url:
        yield url
