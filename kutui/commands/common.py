"""Helpers shared by the command modules: the home, the vault, prompts, tables and JSON output.

Output conventions: results go to stdout; notices, warnings and prompts to stderr, each line
starting with ``kutui:``, so ``kutui key list --json | jq`` sees only JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kutui.secret import Secret
    from kutui.store.home import Home
    from kutui.store.vault import Vault

Prompt = Callable[[str], "Secret"]


# --------------------------------------------------------------------------- parser helpers


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_yes_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


# --------------------------------------------------------------------------- messages


def notice(message: str) -> None:
    from kutui.text import clean_text

    print(f"kutui: {clean_text(message)}", file=sys.stderr)


def warn(message: str) -> None:
    from kutui.text import clean_text

    print(f"kutui: warning: {clean_text(message)}", file=sys.stderr)


def is_tty(stream: TextIO | None = None) -> bool:
    stream = stream if stream is not None else sys.stdin
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def confirm(question: str, *, yes: bool) -> bool:
    """``--yes`` answers for the user; without a terminal to ask on, that is an error."""
    from kutui.errors import UsageError

    if yes:
        return True
    if not is_tty():
        raise UsageError(f"{question} Not asked: stdin is not a terminal; pass --yes to confirm")
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


# --------------------------------------------------------------------------- home and vault


def load_home(args: argparse.Namespace) -> Home:
    """The kutui home named by the arguments; unsafe files in it are warned about on stderr."""
    from kutui.hygiene import warn_about_home
    from kutui.store.home import Home

    home = Home.load(args.home)
    home.notify = notice  # e.g. "moved the registry ... into kutui.db" on an old home's first use
    warn_about_home(home.paths)
    return home


def passphrase_file(args: argparse.Namespace) -> Path | None:
    value = getattr(args, "passphrase_file", None)
    return Path(value).expanduser() if value else None


def secret_prompt(label: str) -> Secret:
    """Ask on the terminal without echo; the answer is wrapped at once."""
    import getpass

    from kutui.secret import Secret

    return Secret(getpass.getpass(f"{label}: "))


def interactive_prompt() -> Prompt | None:
    """A passphrase prompt only when a person can answer it: stdin is a terminal, or stdin is
    piped (credentials for ``key add``) from a terminal session, where getpass asks on /dev/tty."""
    from kutui.store.unlock import has_terminal

    if is_tty() or (is_tty(sys.stderr) and has_terminal()):
        return secret_prompt
    return None


def require_vault(home: Home) -> None:
    from kutui.errors import VaultNotFound

    if not home.vault_exists():
        raise VaultNotFound(home.paths.vault, "no vault yet", hint="run 'kutui init' first")


def open_vault(args: argparse.Namespace, home: Home) -> Vault:
    """Unlock with the keyring stanza, ``--passphrase-file``, ``$CREDENTIALS_DIRECTORY`` or a
    terminal prompt (in that order, as ``Home.open_vault`` does)."""
    require_vault(home)
    vault = home.open_vault(passphrase_file=passphrase_file(args), prompt=interactive_prompt())
    if vault.rollback_warning:
        warn(vault.rollback_warning)
    if vault.data.unusable():  # named at every unlock: any command may be about to use it
        from kutui.store.entries import UNUSABLE, problems

        for entry in problems(home.registry(), vault.data):
            if entry.state == UNUSABLE:
                warn(entry.describe())
    return vault


def ask_new_passphrase(label: str = "New vault passphrase") -> Secret:
    """Ask twice on the terminal; refuse an empty or mismatched answer."""
    from kutui.errors import UsageError

    first = secret_prompt(label)
    if not first:
        raise UsageError("the vault passphrase must not be empty")
    second = secret_prompt(f"{label} (again)")
    if first != second:
        raise UsageError("the two passphrases differ; nothing was changed")
    return first


# --------------------------------------------------------------------------- output


def print_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, file: TextIO | None = None
) -> None:
    """A plain, aligned text table (works in any terminal and in logs)."""
    from kutui.text import clean_text

    out = file if file is not None else sys.stdout
    # Cells may hold outside text (remarks, KuCoin's messages): never raw to the terminal.
    cells = [[clean_text(str(c)) for c in headers]] + [
        [clean_text(str(c)) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        print(line, file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _json_default(value: Any) -> Any:
    from datetime import datetime
    from enum import Enum

    from kutui.secret import Secret

    if isinstance(value, Secret):
        raise TypeError("a Secret must never be printed as JSON")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def print_json(value: Any, *, file: TextIO | None = None) -> None:
    from kutui.commands.jsondump import dumps

    print_json_text(dumps(value, default=_json_default), file=file)


def print_json_text(document: str, *, file: TextIO | None = None) -> None:
    """A JSON document already encoded (``print_json``'s layout), made terminal-safe."""
    from kutui.text import json_terminal_safe

    out = file if file is not None else sys.stdout
    out.write(json_terminal_safe(document) + "\n")


def add_openbao_options(parser: argparse.ArgumentParser) -> None:
    """Where an OpenBao store is (``init --store openbao``, ``migrate --to openbao``)."""
    parser.add_argument("--openbao-addr", metavar="URL", help="the server, https://host:8200")
    parser.add_argument("--openbao-mount", metavar="MOUNT", default="secret", help="KV v2 mount")
    parser.add_argument("--openbao-prefix", metavar="PREFIX", default="kutui", help="path prefix")
    parser.add_argument(
        "--openbao-token-file",
        metavar="FILE",
        help="read the token from FILE (default: $BAO_TOKEN, $VAULT_TOKEN, ~/.vault-token)",
    )
    parser.add_argument("--openbao-ca-file", metavar="FILE", help="CA bundle for the server")


def openbao_section(args: argparse.Namespace, what: str) -> dict[str, str]:
    """config.toml's ``[store]`` values from those options; ``what`` names the option that
    asked for them in the error."""
    from kutui.errors import UsageError

    if not args.openbao_addr:
        raise UsageError(f"{what} needs --openbao-addr URL")
    return {
        "kind": "openbao",
        "addr": args.openbao_addr,
        "mount": args.openbao_mount,
        "prefix": args.openbao_prefix,
        "token_file": args.openbao_token_file or "",
        "ca_file": args.openbao_ca_file or "",
    }
