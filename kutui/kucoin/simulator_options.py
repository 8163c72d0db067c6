"""The simulator's command-line options, shared by ``kutui simulate`` and
``python -m kutui.kucoin.simulator.server``. Only argparse here: building ``kutui --help`` must not
load the simulator package itself (httpx, the exchange)."""

from __future__ import annotations

import argparse

DEFAULT_PORT = 8600


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
