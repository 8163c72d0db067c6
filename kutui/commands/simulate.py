"""``kutui simulate --state FILE``: a fake KuCoin on loopback for bots, SDKs and tests.

Prints its URL as the first line of stdout (flushed), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
from typing import Any

from kutui.kucoin.simulator_options import add_arguments


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run a KuCoin-compatible simulator on loopback",
        description="Serve a fake KuCoin (signing, error codes, rate limits, sub-account keys) "
        "described by a TOML state file. The URL is printed on the first line of output; "
        "Ctrl-C or SIGTERM stops it.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from kutui.kucoin.simulator.server import serve

    return serve(args)
