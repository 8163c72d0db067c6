"""A private D-Bus session with gnome-keyring, for the real-keyring tests.

Needs the Debian/Ubuntu packages ``gnome-keyring dbus libsecret-1-0``. What it runs:

    dbus-daemon --session --nofork --nopidfile --print-address=1
    gnome-keyring-daemon --foreground --unlock --components=secrets   (test password on stdin)

HOME, XDG_RUNTIME_DIR, XDG_DATA_HOME and XDG_CONFIG_HOME point into a temp directory, so the
developer's own keyring is never touched. The session address is NOT exported to this process:
``env`` is handed to the child processes (the keyring agent) only. ``stop`` kills both daemons.
Run it by hand with ``python -m tests.keyring_session`` to see whether the daemons start here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_PASSWORD = b"kutui-test-keyring\n"


class KeyringSessionError(RuntimeError):
    """The private D-Bus session or gnome-keyring could not start."""


class KeyringSession:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kutui-keyring-"))
        self.env: dict[str, str] = {}
        self._procs: list[subprocess.Popen[bytes]] = []

    def _base_env(self) -> dict[str, str]:
        home = self.root / "home"
        runtime = self.root / "run"
        for directory in (home, runtime):
            directory.mkdir(mode=0o700, exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DBUS_", "GNOME_KEYRING", "PYTHON_KEYRING", "XDG_", "DISPLAY"))
        }
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(runtime),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            PYTHONPATH=str(REPO),
        )
        return env

    def start(self, timeout: float = 15.0) -> dict[str, str]:
        tools: list[str] = []
        for tool in ("dbus-daemon", "gnome-keyring-daemon"):
            found = shutil.which(tool)
            if found is None:
                raise KeyringSessionError(
                    f"{tool} not found (apt-get install gnome-keyring dbus libsecret-1-0)"
                )
            tools.append(found)
        env = self._base_env()
        bus = subprocess.Popen(
            [tools[0], "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self._procs.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            raise KeyringSessionError("dbus-daemon printed no address")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon = subprocess.Popen(
            [tools[1], "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self._procs.append(daemon)
        assert daemon.stdin is not None
        daemon.stdin.write(TEST_PASSWORD)
        daemon.stdin.close()
        self.env = env
        self._wait_ready(timeout)
        return env

    def _wait_ready(self, timeout: float) -> None:
        """Poll with the real agent until the secrets service answers a probe."""
        deadline = time.monotonic() + timeout
        why = ""
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._procs):
                raise KeyringSessionError("a keyring daemon exited at start-up")
            try:
                out = subprocess.run(
                    [sys.executable, "-P", "-m", "kutui.store.keyring_agent", "probe"],
                    input=b"{}",
                    capture_output=True,
                    env=self.env,
                    timeout=max(1.0, deadline - time.monotonic()),
                    check=False,
                ).stdout
                answer = json.loads(out or b"{}")
            except (subprocess.TimeoutExpired, ValueError) as exc:
                why = type(exc).__name__
            else:
                if answer.get("ok"):
                    return
                why = str(answer.get("why", ""))
            time.sleep(0.2)
        raise KeyringSessionError(f"gnome-keyring did not become ready: {why}")

    def stop(self) -> None:
        for proc in reversed(self._procs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    session = KeyringSession()
    try:
        environment = session.start()
        print("ready:", environment["DBUS_SESSION_BUS_ADDRESS"])
    finally:
        session.stop()
