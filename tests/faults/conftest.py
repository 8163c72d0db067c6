"""Shared fixtures of the fault tests: an empty kutui home whose vault opens fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.secret import Secret
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault

VAULT_PW = "kucoin-fault-vault-pw"
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)
KEY = "6705f5c311545b000157d3eb"
SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
PASS = "Ab12345678"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    (root / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    (root / "config.toml").chmod(0o600)
    Vault.create(root / "vault.kv1", passphrase=Secret(VAULT_PW), kdf=TINY_KDF, allow_weak=True)
    (tmp_path / "pw").write_text(VAULT_PW + "\n")
    (tmp_path / "pw").chmod(0o600)
    return root
