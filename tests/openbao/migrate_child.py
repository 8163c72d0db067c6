"""Run ``kutui migrate`` in this process and kill it with ``os._exit`` at a chosen step.

``python -m tests.openbao.migrate_child HOME openbao|local POINT PASSPHRASE_FILE [ADDR PREFIX]``;
POINT is a step name of ``kutui.ops.stores`` (``secrets:half``, ``registry:done``...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kutui.ops import stores
from kutui.store.home import Home, read_passphrase_file
from kutui.store.openbao.client import Settings

CRASH_EXIT = 77


def main(home_dir: str, direction: str, point: str, pw_file: str, *target: str) -> int:
    home = Home.load(home_dir)

    def step(name: str) -> None:
        if name == point:
            sys.stdout.flush()
            os._exit(CRASH_EXIT)  # no clean-up, no finally blocks: a killed process

    if direction == "openbao":
        addr, prefix = target
        stores.to_openbao(
            home, Settings(addr=addr, prefix=prefix), passphrase_file=Path(pw_file), step=step
        )
    else:
        stores.to_local(home, passphrase=read_passphrase_file(Path(pw_file)), step=step)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
