"""Issue 2, done-when 2: the documented shell session, as real subprocesses with the default KDF.

Afterwards no file under the home holds a secret or the vault passphrase in clear, base64 or hex.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "6705f5c311545b000157d3eb"
API_SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
API_PASSPHRASE = "Ab12345678"
VAULT_PW = "pw-for-tests-123"


def encodings(secret: str) -> set[bytes]:
    """The clear value and its base64 (every alignment, both alphabets) and hex forms."""
    raw = secret.encode()
    found = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    for shift in range(3):
        # base64 of the value starting at any offset inside a longer blob: drop the edge chars
        # that depend on the neighbours.
        padded = b"\0" * shift + raw
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).rstrip(b"=")
            start = (shift * 4 + 2) // 3 + 1 if shift else 0
            found.add(text[start : len(text) - 2])
    return {f for f in found if len(f) >= 8}


def leaks(root: Path, secrets: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            for form in encodings(secret):
                if form in data:
                    found.append(f"{path.name} holds a form of a secret: {form[:6]!r}…")
    return found


def kutui(*argv: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("kutui")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kutui"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.pop("KUTUI_HOME", None)
    env.pop("CREDENTIALS_DIRECTORY", None)
    return subprocess.run(
        [*command, *argv],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_encodings_catch_an_embedded_base64_secret() -> None:
    for prefix in (b"", b"x", b"xy"):
        blob = base64.b64encode(prefix + API_SECRET.encode() + b"tail")
        assert any(form in blob for form in encodings(API_SECRET))


def test_init_add_list_as_documented(tmp_path: Path) -> None:
    (tmp_path / "pf").write_text(f"{VAULT_PW}\n")
    init = kutui("--home", "H", "--passphrase-file", "pf", "init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    stdin = f"{API_KEY}\n{API_SECRET}\n{API_PASSPHRASE}\n"
    add = kutui(
        "--home",
        "H",
        "--passphrase-file",
        "pf",
        "key",
        "add",
        "main/bot1",
        cwd=tmp_path,
        stdin=stdin,
    )
    assert add.returncode == 0, add.stderr
    listed = kutui("--home", "H", "--passphrase-file", "pf", "key", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    keys = json.loads(listed.stdout)["keys"]
    assert [(k["ref"], k["fingerprint"]) for k in keys] == [("main/bot1", "d3eb")]
    home = tmp_path / "H"
    assert (home / "vault.kv1").stat().st_size > 0
    assert leaks(home, (API_KEY, API_SECRET, API_PASSPHRASE, VAULT_PW)) == []
    for result in (init, add, listed):
        for secret in (API_KEY, API_SECRET, API_PASSPHRASE, VAULT_PW):
            assert secret not in result.stdout + result.stderr
    for path in home.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path
    again = kutui("--home", "H", "--passphrase-file", "pf", "init", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
