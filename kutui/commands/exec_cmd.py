"""``kutui exec REF [--format env|freqtrade|ccxt] [--prefix P] -- CMD ARGS...``

Replaces itself with CMD (``os.execvpe``, as ``aws-vault exec`` does), the key's CURRENT
credentials added to CMD's environment: the key never touches the disk, CMD's exit status and
signals are its own (kutui is gone), and nothing secret is in any argv. The vault is unlocked
before CMD starts: a vault that cannot be unlocked is exit 2 with CMD never run. Headless: textual
is never imported.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exec",
        help="run a command with a key's credentials in its environment",
        description="Run CMD with the key's CURRENT credentials in its environment (kutui "
        "replaces itself with CMD). --format env: PREFIX_KEY, PREFIX_SECRET, PREFIX_PASSPHRASE "
        "(prefix KUCOIN_API); freqtrade: FREQTRADE__EXCHANGE__KEY, __SECRET, __PASSWORD; ccxt: "
        "KUCOIN_APIKEY, KUCOIN_SECRET, KUCOIN_PASSWORD.",
    )
    parser.add_argument("ref", metavar="REF")
    _options(parser)
    # Everything after REF: options, then "--" and the command (its own options included).
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS...")
    parser.set_defaults(func=run_exec)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("env", "freqtrade", "ccxt"), default="env")
    parser.add_argument("--prefix", default="KUCOIN_API", help="env format: the names' prefix")


def _split(args: argparse.Namespace) -> list[str]:
    """The command after "--"; options between REF and "--" are read into ``args``."""
    from kutui.errors import UsageError

    rest = list(args.command)
    if "--" not in rest:  # argparse drops a "--" that follows REF at once
        return rest
    cut = rest.index("--")
    if cut:
        extra = argparse.ArgumentParser(prog="kutui exec", add_help=False, exit_on_error=False)
        _options(extra)
        try:
            extra.parse_args(rest[:cut], namespace=args)
        except (argparse.ArgumentError, SystemExit):
            raise UsageError(f"cannot read the options {' '.join(rest[:cut])!r}") from None
    return rest[cut + 1 :]


def run_exec(args: argparse.Namespace) -> int:
    import os

    from kutui.commands.common import load_home, open_vault
    from kutui.consumers.formats import FormatProblem, exec_env
    from kutui.errors import UsageError
    from kutui.model import Consumer, ConsumerKind, consumer_problem
    from kutui.ops.consumers import slot_credential

    command = _split(args)
    if not command:
        raise UsageError("name the command to run after --: kutui exec REF -- CMD ARGS...")
    probe = Consumer("-", "exec", ConsumerKind.ENVFILE, target="/", env_prefix=args.prefix)
    if consumer_problem(probe):
        raise UsageError("--prefix must be letters, digits and _ (for example KUCOIN_API)")
    home = load_home(args)
    vault = open_vault(args, home)
    cred = slot_credential(home, vault, args.ref)
    values = (cred.api_key.reveal(), cred.api_secret.reveal(), cred.passphrase.reveal())
    try:
        added = exec_env(values, args.format, args.prefix)
    except FormatProblem as exc:
        raise UsageError(str(exc)) from None
    env = {**os.environ, **added}
    vault.close()
    home.close()
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)  # noqa: S606  # nosec B606  # the user's command
    except OSError as exc:
        raise UsageError(f"{command[0]}: cannot run it ({exc.strerror or exc})") from None
