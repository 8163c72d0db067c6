"""``kutui passphrase [--length N]``: print a new random API passphrase to KuCoin's rules.

For KuCoin's Create API form (a master key is created in the web UI, docs/security.md). The
generator is ``kutui.model.generate_passphrase``, the one sub-key rotation uses. The value is
printed because the user asked for it, once, to stdout only; kutui keeps no copy.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "passphrase",
        help="print a new random API passphrase (for KuCoin's Create API form)",
        description="Print a new random API passphrase to KuCoin's rules (7 to 32 letters, digits "
        "and symbols, no spaces), generated as rotation does. kutui keeps no copy: paste it "
        "into KuCoin's form, then give it to kutui with the new key (kutui key add, kutui rotate).",
    )
    parser.add_argument(
        "--length",
        type=int,
        default=None,
        metavar="N",
        help="characters, 7 to 32 (default: 32, KuCoin's maximum)",
    )
    parser.set_defaults(func=run_passphrase)


def run_passphrase(args: argparse.Namespace) -> int:
    from kutui.errors import UsageError
    from kutui.model import PASSPHRASE_LENGTH, generate_passphrase

    length = PASSPHRASE_LENGTH if args.length is None else args.length
    if not 7 <= length <= 32:
        raise UsageError("--length must be from 7 to 32 (KuCoin's passphrase rule)")
    print(generate_passphrase(length).reveal())
    return 0
