"""The CLI against a real Secret Service (a private gnome-keyring on a private D-Bus session):
``init`` with no passphrase source makes a keyring-only vault; later commands unlock through the
keyring with no passphrase asked. A keyring that cannot answer falls back to the passphrase."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = "6705f5c311545b000157d3eb\nf03a5284-5c39-4aaa-9b20-dea10bdcf8e3\nAb12345678\n"


def kutui(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    full = {**env, "PYTHONPATH": str(ROOT)}
    for name in ("KUTUI_HOME", "CREDENTIALS_DIRECTORY", "PYTHON_KEYRING_BACKEND"):
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "kutui", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        check=False,
    )


@pytest.mark.keyring
def test_keyring_only_init_then_keys_without_a_passphrase(
    keyring_env: dict[str, str], tmp_path: Path
) -> None:
    home = str(tmp_path / "H")
    init = kutui(keyring_env, "--home", home, "init")
    assert init.returncode == 0, init.stderr
    assert "unlocked by the OS keyring" in init.stderr
    assert "kutui vault passwd" in init.stderr  # keyring only: recovery advised
    add = kutui(keyring_env, "--home", home, "key", "add", "main/bot1", stdin=CREDENTIALS)
    assert add.returncode == 0, add.stderr
    listed = kutui(keyring_env, "--home", home, "key", "list", "--json")
    assert json.loads(listed.stdout)["keys"][0]["fingerprint"] == "d3eb"
    doctor = kutui(keyring_env, "--home", home, "doctor")
    assert "SecretService" in doctor.stdout and "keyring" in doctor.stdout


@pytest.mark.keyring
def test_unreachable_keyring_falls_back_to_the_passphrase(
    keyring_env: dict[str, str], tmp_path: Path
) -> None:
    home = str(tmp_path / "H")
    pf = tmp_path / "pf"
    pf.write_text("a-long-vault-passphrase\n")
    init = kutui(keyring_env, "--home", home, "--passphrase-file", str(pf), "init")
    assert init.returncode == 0, init.stderr
    assert "the OS keyring and your passphrase" in init.stderr
    broken = {**keyring_env, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}
    add = kutui(
        broken,
        "--home",
        home,
        "--passphrase-file",
        str(pf),
        "key",
        "add",
        "main/b",
        stdin=CREDENTIALS,
    )
    assert add.returncode == 0, add.stderr
    no_pass = kutui(broken, "--home", home, "key", "remove", "main/b", "--yes")
    assert no_pass.returncode == 2 and "keyring:" in no_pass.stderr
    fine = kutui(keyring_env, "--home", home, "key", "remove", "main/b", "--yes")
    assert fine.returncode == 0, fine.stderr
