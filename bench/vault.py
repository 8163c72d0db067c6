"""Vault speed with 10,000 keys: unlock (default KDF), read one secret, save. Prints medians.

.venv/bin/python bench/vault.py [--keys 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kutui.model import Credential, Slot
from kutui.redact import redact
from kutui.secret import Secret
from kutui.store.kdf import default_params, derive
from kutui.store.vault import Vault, VaultData

PASS = Secret("bench passphrase, long enough")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def fill(count: int) -> Callable[[VaultData], None]:
    def run(data: VaultData) -> None:
        for n in range(count):
            data.put(
                f"key-{n:05d}",
                Credential(
                    Secret(f"{n:024x}"),
                    Secret(f"{n:08x}-aaaa-bbbb-cccc-{n:012x}"),
                    Secret(f"pass{n}"),
                ),
            )

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    params = default_params()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vault.kv1"
        vault = Vault.create(path, passphrase=PASS, kdf=params)
        vault.update(fill(args.keys))
        size = path.stat().st_size
        opened: list[Vault] = []
        unlock = median_ms(lambda: opened.append(Vault.open(path, passphrase=PASS)), args.runs)
        data = opened[-1].data
        probe = f"key-{args.keys // 2:05d}"

        def read_one() -> None:
            credential = data.get(probe, Slot.CURRENT)
            assert credential is not None
            credential.api_secret.reveal()

        read = median_ms(read_one, max(args.runs, 1000))

        def touch(d: VaultData) -> None:
            credential = d.get(probe)
            assert credential is not None
            d.put("key-extra", credential)

        save = median_ms(lambda: opened[-1].update(touch), args.runs)
        salt = bytes(16)
        kdf_only = median_ms(lambda: derive(PASS, salt, params), args.runs)
        sample = f"GET /api/v1/user/api-key failed for {probe}: timeout"
        redact_one = median_ms(lambda: redact(sample), args.runs)
    print(f"vault with {args.keys} keys, {size / 1024:.0f} KiB on disk, KDF {params.describe()}")
    print(f"unlock (KDF + decrypt + parse): median {unlock:8.1f} ms over {args.runs} runs")
    print(f"  of which the KDF alone:       median {kdf_only:8.1f} ms")
    print(f"read one secret:                median {read * 1000:8.2f} us")
    print(f"save (lock, re-read, write):    median {save:8.1f} ms over {args.runs} runs")
    print(f"redact() one log line with all {args.keys * 3} secrets registered: {redact_one:.1f} ms")


if __name__ == "__main__":
    main()
