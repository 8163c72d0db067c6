"""``kutui simulate --state FILE``: a fake KuCoin on loopback for bots, SDKs and tests.

Prints its URL as the first line of stdout (flushed), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_PORT = 8600  # kutui.kucoin.simulator.server.DEFAULT_PORT; not imported: keep --help light


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run a KuCoin-compatible simulator on loopback",
        description="Serve a fake KuCoin (signing, error codes, rate limits, sub-account keys) "
        "described by a TOML state file. The URL is printed on the first line of output; "
        "Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument(
        "--state", required=True, metavar="FILE", help="TOML file describing users and keys"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)"
    )
    parser.add_argument("--latency-ms", type=float, metavar="N", help="latency added to answers")
    parser.add_argument("--jitter-ms", type=float, metavar="N", help="random extra latency, 0..N")
    parser.add_argument(
        "--error-rate", type=float, metavar="F", help="share of requests answered 5xx (0-1)"
    )
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from kutui.kucoin.simulator.server import serve

    return serve(args)
