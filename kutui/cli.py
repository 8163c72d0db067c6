"""The ``kutui`` command: argparse entry point.

Kept light on purpose: it imports only argparse and the command modules, which import their heavy
dependencies inside their ``run_*`` functions. Headless commands therefore never load textual.

Adding a command = one line in ``COMMAND_MODULES`` and its names in ``COMMAND_NAMES``. Each
module defines ``register(subparsers)``, which adds its parser(s) with
``set_defaults(func=run_xxx)``; ``run_xxx(args) -> int`` returns the exit code. Modules that do
not exist (yet) are skipped.

A command line that names its command plainly (``kutui [--home DIR] [--passphrase-file FILE]
[--debug] COMMAND ...``) is parsed by a parser holding that command's module only: importing and
registering all nineteen costs every command ~40 ms (bench/yardstick.py times ``key list`` and a
one-key ``check`` whole). Anything else (``--help``, no command, an unknown one) gets them all.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from kutui import __version__

#: Command modules, in the order ``kutui --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "kutui.commands.tui",
    "kutui.commands.init",
    "kutui.commands.account",
    "kutui.commands.key",
    "kutui.commands.import_cmd",
    "kutui.commands.check",
    "kutui.commands.audit",
    "kutui.commands.rotate",
    "kutui.commands.vault_cmd",
    "kutui.commands.registry_cmd",
    "kutui.commands.simulate",
    "kutui.commands.demo",
    "kutui.commands.locate",
    "kutui.commands.doctor",
    "kutui.commands.migrate_cmd",
    "kutui.commands.passphrase",
    "kutui.commands.completion",
    "kutui.commands.consumer",
    "kutui.commands.exec_cmd",
)
#: The commands each module of ``COMMAND_MODULES`` registers (tests/cli/test_cli_basics.py holds
#: the two equal): ``kutui key ...`` then imports kutui.commands.key alone.
COMMAND_NAMES: dict[str, str] = {
    "tui": "kutui.commands.tui",
    "demo": "kutui.commands.tui",
    "init": "kutui.commands.init",
    "account": "kutui.commands.account",
    "key": "kutui.commands.key",
    "import": "kutui.commands.import_cmd",
    "check": "kutui.commands.check",
    "audit": "kutui.commands.audit",
    "rotate": "kutui.commands.rotate",
    "vault": "kutui.commands.vault_cmd",
    "export": "kutui.commands.registry_cmd",
    "import-registry": "kutui.commands.registry_cmd",
    "simulate": "kutui.commands.simulate",
    "locate": "kutui.commands.locate",
    "doctor": "kutui.commands.doctor",
    "migrate": "kutui.commands.migrate_cmd",
    "passphrase": "kutui.commands.passphrase",  # nosec B105  # a module name
    "completion": "kutui.commands.completion",
    "consumer": "kutui.commands.consumer",
    "deliver": "kutui.commands.consumer",
    "exec": "kutui.commands.exec_cmd",
}
#: The top-level options that may stand before the command, each with the shortest prefix
#: argparse takes for it (``allow_abbrev``), and whether it is followed by a value.
_GLOBAL_OPTIONS: tuple[tuple[str, int, bool], ...] = (
    ("--home", len("--ho"), True),
    ("--passphrase-file", len("--p"), True),
    ("--debug", len("--d"), False),
)
#: Run when no subcommand is given: ``run_tui(args) -> int`` in this module.
DEFAULT_MODULE = "kutui.commands.tui"

#: Exit code for a bug (an exception that is not a KutuiError): EX_SOFTWARE, so cron jobs can tell
#: it from "some keys are unhealthy" (1) and "bad input" (2).
EXIT_INTERNAL = 70


def _available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``modules`` only those commands' parsers."""
    parser = argparse.ArgumentParser(
        prog="kutui",
        description="Keep many KuCoin API keys encrypted, checked and rotated.",
        epilog="Run 'kutui COMMAND --help' for a command's options. "
        "With no command, kutui opens the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"kutui {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="keep every kutui file under DIR (default: $KUTUI_HOME, else the platform's "
        "config/data/state directories)",
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the vault passphrase from the first line of FILE (for unattended runs; "
        "$CREDENTIALS_DIRECTORY/kutui-passphrase is also read)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="log debug messages and show tracebacks on errors"
    )
    parser.set_defaults(func=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES if modules is None else modules:
        if _available(name):
            importlib.import_module(name).register(subparsers)
    return parser


def _global_option(token: str) -> tuple[bool, bool]:
    """Whether ``token`` is one of ``_GLOBAL_OPTIONS`` (whole, abbreviated or ``--opt=value``),
    and whether the next token is its value."""
    name, has_value, _value = token.partition("=")
    for option, shortest, takes_value in _GLOBAL_OPTIONS:
        if len(name) >= shortest and option.startswith(name):
            if has_value:
                return takes_value, False  # "--debug=x" is argparse's error: the whole parser
            return True, takes_value
    return False, False


def command_module(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` names after nothing but ``_GLOBAL_OPTIONS``, or None
    (``--help``, ``--version``, no command, an unknown one, anything unusual): then the whole
    parser parses, and answers as it always did."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("-"):
            return COMMAND_NAMES.get(token)
        known, takes_value = _global_option(token)
        if not known:
            return None
        index += 2 if takes_value else 1
    return None


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: its command's module alone when ``command_module`` names one."""
    module = command_module(argv)
    return build_parser() if module is None else build_parser([module])


def _skip_httpx_cli() -> None:
    """Keep ``import httpx`` from loading httpx's own command-line tool.

    httpx/__init__.py imports ``httpx._main`` (the ``httpx`` command: click, rich, pygments) and
    falls back to a stub ``main`` on ImportError. Where click is installed (apprise, the notify
    extra, brings it) that import costs a one-key ``kutui check`` ~0.1 s of its ~1 s
    (bench/yardstick.py); kutui never calls ``httpx.main``. A ``None`` in ``sys.modules`` makes
    that import raise ImportError, so httpx takes its stub."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _setup_logging(debug: bool) -> None:
    from kutui.redact import install_log_redaction

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        fmt = (
            "kutui: %(levelname)s: %(name)s: %(message)s"
            if debug
            else "kutui: %(levelname)s: %(message)s"
        )
        handler.setFormatter(logging.Formatter(fmt))
        root.addHandler(handler)
    if debug:  # otherwise the root logger's default (WARNING) applies
        root.setLevel(logging.DEBUG)
    install_log_redaction()


def _print_error(message: str) -> None:
    from kutui.redact import redact
    from kutui.text import clean_text

    # An error may quote outside text (a file's bad value, KuCoin's message): cleaned, one line.
    print(f"kutui: {clean_text(redact(message))}", file=sys.stderr)


def _print_traceback(exc: BaseException) -> None:
    """A plain traceback (never local variables), redacted."""
    import traceback

    from kutui.redact import redact
    from kutui.text import clean_text

    text = "".join(traceback.format_exception(exc))
    print(clean_text(redact(text), multiline=True), file=sys.stderr, end="")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    from kutui.errors import KutuiError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["__complete"]:  # the shell completion helper, on every Tab: no parse, no log
        from kutui.commands.completion import run_complete

        return run_complete(argv[1:], build_parser)
    parser = parser_for(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help/--version (0) or a bad command line (2)
        return exc.code if isinstance(exc.code, int) else 2
    _skip_httpx_cli()
    debug = bool(args.debug)
    _setup_logging(debug)
    from kutui.hygiene import harden_process

    harden_process()
    try:
        if args.func is None:
            if not _available(DEFAULT_MODULE):
                _print_error("the terminal UI is not available in this build; see 'kutui --help'")
                return 2
            return int(importlib.import_module(DEFAULT_MODULE).run_tui(args))
        return int(args.func(args))
    except KutuiError as exc:
        if debug:
            _print_traceback(exc)
        _print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        _print_error("interrupted")
        return 130
    except EOFError:  # Ctrl-D (or a closed stdin) at a prompt: the user's answer, not a bug
        print(file=sys.stderr)
        _print_error("stopped: no answer (end of input)")
        return 2
    except BrokenPipeError:  # `kutui key list | head`: the reader went away
        _silence_stdout()
        return 141
    except Exception as exc:
        if debug:
            _print_traceback(exc)
            _print_error(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            _print_error(
                f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for a traceback)"
            )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
