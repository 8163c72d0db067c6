"""``kutui import ACCOUNT``: learn an account's sub-accounts and their keys from KuCoin.

With the account's master key (a key of the master account with the General permission: the one
named by ``--key LABEL``, else the first whose check saw General, else the first with a stored
secret), list every sub-account (all pages of ``GET /api/v2/sub/user``) and each one's keys
(``GET /api/v1/sub/api-key``, paced by the same per-pool budget as checks), then merge them into
the registry in one write:

- new sub-accounts and keys are added as metadata only (fingerprint, permissions, IP whitelist,
  version, created time, remark; ``has_secret = false``): the secret is added later by
  ``kutui key add`` or a rotation. The full API key is never stored;
- known ones are matched (sub-account by name; key by fingerprint and created time) and updated,
  so running the command twice adds nothing;
- sub-accounts and keys that KuCoin no longer lists are marked ``remote = missing``, never deleted.

Exit 0 on success, 1 when KuCoin refuses (the key's status says why), 2 on usage or vault errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag

if TYPE_CHECKING:
    import httpx

    from kutui.kucoin.client import KeyInfo, SubAccountInfo
    from kutui.model import Credential


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="add an account's sub-accounts and their keys from KuCoin (metadata only)",
        description="List every sub-account of ACCOUNT and each one's API keys with the "
        "account's master key (General permission), and add them to the registry as metadata "
        "(no secrets: add those with 'kutui key add'). Running it again adds only what is new; "
        "sub-accounts and keys gone from KuCoin are marked missing, not deleted.",
    )
    parser.add_argument("account", metavar="ACCOUNT")
    parser.add_argument("--key", metavar="LABEL", help="the master key to use (default: first)")
    add_json_flag(parser)
    parser.set_defaults(func=run_import)


def run_import(
    args: argparse.Namespace, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    import asyncio

    from kutui.commands.common import is_tty, load_home, notice, open_vault, print_json
    from kutui.kucoin.client import ClientPool
    from kutui.model import now_utc
    from kutui.ops import imports

    home = load_home(args)
    src = imports.source(home.registry(), args.account, args.key)
    vault = open_vault(args, home)
    cred = imports.credential(home, vault.data, src)
    vault.close()
    live = is_tty(sys.stderr)

    def progress(done: int, total: int) -> None:
        if live:
            sys.stderr.write(f"\rkutui: listed the keys of {done}/{total} sub-accounts\x1b[K")
            sys.stderr.flush()

    async def fetch(
        master_cred: Credential,
    ) -> tuple[list[SubAccountInfo], dict[str, list[KeyInfo]]]:
        pool = ClientPool(transport=transport, timeout=home.config.checks.timeout_seconds)
        try:
            return await imports.fetch(pool, src, master_cred, progress)
        finally:
            await pool.aclose()

    master = src.master
    notice(f"listing the sub-accounts of {src.account} with {master.ref} (…{master.fingerprint})")
    try:
        subs, keys = asyncio.run(fetch(cred))
    finally:
        if live:
            sys.stderr.write("\n")
    del cred
    report = imports.merge(home, src, subs, keys, now_utc())
    if args.json:
        print_json(report.to_json())
        return 0
    for line in report.skipped:
        notice(f"skipped {line}")
    print(report.summary())
    for ref in report.keys_added:
        print(f"  added {ref} (no secret yet: kutui key add {ref})")
    for ref in report.subs_missing + report.keys_missing:
        print(f"  gone from KuCoin, marked missing: {ref}")
    return 0
