"""``kutui simulate`` as a real process on a free loopback port, for tests that talk to it over
HTTP (the CLI in subprocesses, the peers' clients)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def simulate(state: Path, text: str) -> Iterator[str]:
    """Write ``text`` to ``state``, start the simulator on it, yield its URL; stop it after."""
    state.write_text(text)
    server = subprocess.Popen(
        [sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
