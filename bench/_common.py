"""Helpers shared by the bench scripts: a simulator state with one key per KuCoin user, and
``kutui simulate`` started on loopback as a subprocess."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

from kutui.checks.runner import CheckTarget
from kutui.model import Credential, KeyRef
from kutui.secret import Secret

FIRST_UID = 100_001


def write_state(path: Path, keys: int, *, uids_per_master: int = 1) -> list[CheckTarget]:
    """Write a simulator state with ``keys`` keys, one per uid (VIP0: each uid's quota of 100
    checks per 30 s never interferes), and return them as check targets (``pool_hint`` = uid).

    Every ``uids_per_master``-th uid is a master account ``acct<M>``; the uids after it are its
    sub-accounts ``sub<n>``. Key ``n`` is ``acct<M>[/sub<n>]/key``.
    """
    lines = ["[server]", "seed = 1", ""]
    targets: list[CheckTarget] = []
    master_uid = FIRST_UID
    for n in range(keys):
        uid = FIRST_UID + n
        is_master = n % uids_per_master == 0
        if is_master:
            master_uid = uid
            lines += ["[[users]]", f"uid = {uid}", ""]
        else:
            lines += [
                "[[users]]", f"uid = {uid}", f'sub_name = "sub{n}"', f"master_uid = {master_uid}",
                "",
            ]  # fmt: skip
        api_key, api_secret, passphrase = secrets.token_hex(12), str(uuid.uuid4()), f"Bench-{n:05d}"
        lines += [
            "[[keys]]", f"uid = {uid}", f'api_key = "{api_key}"', f'api_secret = "{api_secret}"',
            f'passphrase = "{passphrase}"', "",
        ]  # fmt: skip
        cred = Credential(Secret(api_key), Secret(api_secret), Secret(passphrase))
        ref = KeyRef(f"acct{n // uids_per_master}", "" if is_master else f"sub{n}", "key")
        targets.append(CheckTarget(f"k{n}", ref, "", cred, str(uid)))
    path.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)
    return targets


def start_simulator(state: Path, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    """``python -m kutui simulate`` on a free loopback port; returns the process and its URL."""
    command = [
        sys.executable, "-m", "kutui", "simulate", "--state", str(state), "--port", "0",
        "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the simulator did not start (first line: {url!r})")
    return proc, url
