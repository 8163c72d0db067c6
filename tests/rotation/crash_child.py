"""Run one rotation in this process and kill it with ``os._exit`` at a chosen point.

``python -m tests.rotation.crash_child HOME PASSPHRASE_FILE REF POINT`` where POINT is a checklist
save label (``create:running``) or ``create-answer-lost`` (exit right after KuCoin answered the
create, before anything is saved). Exits 0 if the rotation finished without reaching POINT.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from kutui.kucoin.client import ClientPool, CreatedKey
from kutui.rotation import session as rs
from kutui.rotation.engine import ManualInput
from kutui.rotation.store import RotationStore
from kutui.store.home import Home

CRASH_EXIT = 77


def crash() -> None:
    sys.stdout.flush()
    os._exit(CRASH_EXIT)  # no clean-up, no finally blocks, no atexit: a killed process


async def main(home_dir: str, pw_file: str, ref: str, point: str) -> int:
    home = Home.load(home_dir)
    vault = home.open_vault(passphrase_file=Path(pw_file))
    store = RotationStore(home.paths.rotations_dir)
    key = rs.find_key(home, ref)
    pool = ClientPool()
    ctx = rs.context_for(home, store, vault, pool, key, verify_delays=(0.2, 0.5))

    def on_save(label: str) -> None:
        if label == point:
            crash()

    ctx.on_save = on_save
    if point == "create-answer-lost":
        real = ctx.remote.create_sub_api_key

        async def create(*args: Any, **kwargs: Any) -> CreatedKey:
            await real(*args, **kwargs)
            crash()
            raise AssertionError("unreachable")

        ctx.remote.create_sub_api_key = create  # type: ignore[method-assign]
    with store.key_lock(key.id):
        session = rs.start(ctx, key)
        step = await session.run()
        while step is not None:
            step = await session.submit(ManualInput(confirm=True))
    await pool.aclose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(*sys.argv[1:5])))
