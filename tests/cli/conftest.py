"""Fixtures for the CLI tests: a private kutui home (never the real one) and an in-process runner.

In-process vaults use tiny KDF parameters through the Python API (``allow_weak=True``); the CLI
itself never accepts them.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kutui.cli import main
from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault

VAULT_PW = "vault-pw-for-tests-123"
API_KEY = "6705f5c311545b000157d3eb"
API_SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
API_PASSPHRASE = "Ab12345678"
SECRETS = (VAULT_PW, API_KEY, API_SECRET, API_PASSPHRASE)
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture(autouse=True)
def private_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUTUI_HOME", str(tmp_path / "unused-home"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A kutui home whose config keeps the OS keyring out of the way."""
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    config = root / "config.toml"
    config.write_text('[vault]\nunlock = "passphrase"\nargon2_memory_mib = 64\n')
    config.chmod(0o600)
    return root


@pytest.fixture
def pw_file(tmp_path: Path) -> Path:
    path = tmp_path / "pf"
    path.write_text(VAULT_PW + "\n")
    return path


@pytest.fixture
def vault_home(home: Path) -> Path:
    """``home`` plus an empty vault created with tiny KDF parameters."""
    Vault.create(
        Paths.resolve(home).vault, passphrase=Secret(VAULT_PW), kdf=TINY_KDF, allow_weak=True
    )
    return home


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, pw_file: Path
) -> Cli:
    """Run ``kutui --home HOME --passphrase-file PF ARGV...`` in process; stdin is not a tty."""

    def run(*argv: str, stdin: str = "", bare: bool = False) -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        prefix = [] if bare else ["--home", str(home), "--passphrase-file", str(pw_file)]
        code = main([*prefix, *argv])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def credentials_stdin(
    api_key: str = API_KEY, secret: str = API_SECRET, passphrase: str = API_PASSPHRASE
) -> str:
    return f"{api_key}\n{secret}\n{passphrase}\n"
