"""``kutui key add|import|list|remove``: API keys and their credentials.

``key add`` and ``key import`` create the account and sub-account a reference names when they do
not exist yet (with a notice), so ``kutui key add main/bot1`` works right after ``kutui init``.
Credentials never come from argv: ``key add`` asks on the terminal (no echo) or reads three lines
(API key, secret, passphrase) from stdin when stdin is not a terminal.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag, add_yes_flag

if TYPE_CHECKING:
    from kutui.ops.change import Change
    from kutui.ops.keys import Entered
    from kutui.store.home import Home


log = logging.getLogger(__name__)


#: ``kutui key list --json``: ``{"schema": 1, "keys": [...]}`` (kutui/data/schemas/).
JSON_SCHEMA_VERSION = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "key",
        help="add, import, list or remove API keys",
        description="Manage API keys. A key is named ACCOUNT/LABEL (master account) or "
        "ACCOUNT/SUB/LABEL (sub-account).",
    )
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="store one key (credentials asked, or read from stdin)",
        description="Store one API key. On a terminal, the API key, secret and passphrase are "
        "asked without echo; otherwise stdin must hold three lines: API key, secret, passphrase. "
        "The account and sub-account are created if missing. A key listed by 'kutui import' "
        "(no secret yet) gets its credentials filled in.",
    )
    add.add_argument("ref", metavar="ACCOUNT[/SUB]/LABEL")
    add.add_argument(
        "--api-version",
        type=int,
        choices=(1, 2, 3),
        default=None,
        help="KuCoin key version (default 3, or the version 'kutui import' saw)",
    )
    add.add_argument("--note", default="", help="what the key is for, who uses it")
    add.set_defaults(func=run_add)

    imp = sub.add_parser(
        "import",
        help="store many keys from a TOML, CSV or JSON file",
        description="Store many keys at once (one vault write). Fields: ref, api_key, api_secret, "
        "passphrase, optional api_version and note. TOML: [[keys]] tables; CSV: a header line; "
        "JSON: a list of objects. Each row is reported as added, skipped (already present) or "
        "rejected (with the reason). Exit 0 when no row was rejected, else 1. The file is only "
        "read: delete it afterwards.",
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument(
        "--format",
        choices=("toml", "csv", "json"),
        help="file format (default: from the file name, else guessed)",
    )
    add_json_flag(imp)
    imp.set_defaults(func=run_import)

    lst = sub.add_parser("list", help="list keys (fingerprints only; no unlock needed)")
    lst.add_argument("owner", nargs="?", metavar="ACCOUNT[/SUB]", help="only this account's keys")
    lst.add_argument(
        "--orphans",
        action="store_true",
        help="unlock the vault and list its entries that accounts.toml does not list, and "
        "entries that cannot be used (with why; never their content)",
    )
    add_json_flag(lst)
    lst.set_defaults(func=run_list)

    rm = sub.add_parser(
        "remove",
        help="remove a key and its credentials",
        description="Remove a key and its credentials, or (--orphan ID) a vault entry that "
        "accounts.toml does not list, left by an add or import that was interrupted (kutui "
        "doctor and 'kutui key list --orphans' show them).",
    )
    rm.add_argument("ref", metavar="ACCOUNT[/SUB]/LABEL", nargs="?")
    rm.add_argument("--orphan", metavar="ID", help="remove the vault entry with this key id")
    add_yes_flag(rm)
    rm.set_defaults(func=run_remove)

    from kutui.commands.consumer import add_key_show

    add_key_show(sub)


# --------------------------------------------------------------------------- key add


_STDIN_LINES = ("the API key", "the API secret", "the API passphrase")


def _read_stdin_line(number: int) -> str:
    """Line ``number`` of stdin, decoded as strict UTF-8.

    Python's text stdin may decode with ``surrogateescape`` (a C or POSIX locale), which turns a
    stray byte into a lone surrogate that no file can hold; the bytes are decoded here instead.
    """
    import sys

    from kutui.errors import UsageError

    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a replaced text stream (tests): the validators catch surrogates
        return sys.stdin.readline()
    raw: bytes = buffer.readline()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"stdin line {number} ({_STDIN_LINES[number - 1]}) is not UTF-8 text; "
            "nothing was stored"
        ) from None


def _read_credentials() -> Entered:
    from kutui.commands.common import is_tty, secret_prompt
    from kutui.errors import UsageError
    from kutui.model import clean_pasted
    from kutui.ops.keys import Entered
    from kutui.secret import Secret

    if is_tty():
        values = [
            secret_prompt("API key"),
            secret_prompt("API secret"),
            secret_prompt("API passphrase"),
        ]
        return Entered(
            Secret(clean_pasted(values[0].reveal())),
            Secret(clean_pasted(values[1].reveal())),
            Secret(clean_pasted(values[2].reveal())),
        )
    lines = [Secret(clean_pasted(_read_stdin_line(number))) for number in (1, 2, 3)]
    if not all(lines):
        raise UsageError(
            "stdin must hold three lines: the API key, the API secret and the API passphrase"
        )
    return Entered(lines[0], lines[1], lines[2])


def run_add(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, open_vault, require_vault
    from kutui.ops import keys

    ref = keys.parse_ref(args.ref)
    home = load_home(args)
    require_vault(home)
    keys.refuse_stored(home.registry(), ref)  # before asking for anything
    vault = open_vault(args, home)
    # Unlocking adopts credentials an interrupted add stored (Home.add_credentials): look again.
    keys.refuse_stored(home.registry(), ref)
    change = keys.add_key(
        home, vault, ref, _read_credentials(), api_version=args.api_version, note=args.note
    )
    _say(change)
    return 0


def _say(change: Change) -> None:
    from kutui.commands.common import notice, warn

    for line in change.warnings:
        warn(line)
    for line in change.notices:
        notice(line)
    notice(change.summary)


# --------------------------------------------------------------------------- key import


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kutui.commands.common import load_home, notice, open_vault, print_json, require_vault, warn
    from kutui.ops.keys import import_keys
    from kutui.store.keyfile import Outcome

    path = Path(args.file).expanduser()
    home = load_home(args)
    require_vault(home)
    done = import_keys(home, path, lambda: open_vault(args, home), fmt=args.format)
    rows, reports = done.rows, done.reports
    counts = {o: sum(r.outcome is o for r in reports) for o in Outcome}
    log.debug("import of %s: %s", path, {o.value: n for o, n in counts.items()})
    if args.json:
        print_json(
            [
                {
                    "where": r.where,
                    "ref": r.ref,
                    "outcome": r.outcome.value,
                    "reason": r.reason,
                    "fingerprint": r.fingerprint,
                }
                for r in reports
            ]
        )
    else:
        for line in done.created:
            notice(line)
        for r in reports:
            what = f"{r.ref} (…{r.fingerprint})" if r.fingerprint else (r.ref or "-")
            reason = f": {r.reason}" if r.reason else ""
            print(f"{r.where}: {r.outcome.value}: {what}{reason}")
        print(
            f"{counts[Outcome.ADDED]} added, {counts[Outcome.SKIPPED]} skipped, "
            f"{counts[Outcome.REJECTED]} rejected"
        )
    if rows:
        warn(f"{path} holds secrets in clear: delete it now (for example: shred -u {path})")
    return 1 if counts[Outcome.REJECTED] else 0


# --------------------------------------------------------------------------- key list


def run_list(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home

    home = load_home(args)
    if args.orphans:
        return _list_orphans(args, home)
    account, sub, registry = None, None, None
    if args.owner:
        from kutui.errors import KeyNotFound
        from kutui.ops.accounts import parse_owner

        account, owner_sub = parse_owner(args.owner)
        sub = owner_sub or None
        registry = home.registry()
        node = registry.account(account)
        if node is None or (sub and node.sub(sub) is None):
            # An empty list would read as "no keys yet" for a mistyped name.
            what = f"sub-account '{account}/{sub}'" if sub else f"account '{account}'"
            raise KeyNotFound(f"no {what}", hint="see 'kutui account list'")
    if args.json:  # kutui/data/schemas/key-list.schema.json; no ApiKey objects (10,000 keys)
        from kutui.commands.common import print_json_text
        from kutui.store.sqlite_registry import key_list_json

        print_json_text(key_list_json(home.key_rows(account, sub), JSON_SCHEMA_VERSION))
        return 0
    if registry is None:
        registry = home.registry()
    keys = registry.keys if account is None else registry.keys_under(account, sub)
    keys = sorted(keys, key=lambda k: k.ref)
    return _show(
        False,
        [],
        "no keys yet: add one with 'kutui key add ACCOUNT/LABEL'",
        ["KEY", "FPR", "VER", "STATUS", "ADDED", "NOTE"],
        [
            [
                str(k.ref),
                f"…{k.fingerprint}" if k.fingerprint else "",
                k.api_version,
                k.status.value if k.has_secret else "no secret",
                k.added_at.date().isoformat() if k.added_at else "",
                k.note.text[:40],
            ]
            for k in keys
        ],
    )


def _show(
    as_json: bool, records: list[Any], empty: str, headers: list[str], rows: list[list[Any]]
) -> int:
    """``--json``: the records; else the table, or ``empty`` when there is nothing to list."""
    from kutui.commands.common import print_json, print_table

    if as_json:
        print_json(records)
    elif not rows:
        print(empty)
    else:
        print_table(headers, rows)
    return 0


def _list_orphans(args: argparse.Namespace, home: Home) -> int:
    """Vault entries accounts.toml does not list, and entries that cannot be used."""
    from dataclasses import asdict

    from kutui.commands.common import open_vault
    from kutui.store.entries import problems

    found = problems(home.registry(), open_vault(args, home).data)
    return _show(
        args.json,
        [{**asdict(e), "fix": e.fix} for e in found],
        "every vault entry belongs to a listed key and can be used",
        ["KEY ID", "KEY", "SLOT", "STATE", "WHY", "TO REMOVE IT"],
        [[e.key_id, e.ref or "-", e.slot or "(all)", e.state, e.why, e.fix] for e in found],
    )


# --------------------------------------------------------------------------- key remove


def run_remove(args: argparse.Namespace) -> int:
    from kutui.commands.common import confirm, load_home, notice, open_vault
    from kutui.errors import KeyNotFound, UnlockError, UsageError
    from kutui.ops import keys
    from kutui.rotation.store import refuse_open_rotation

    if (args.ref is None) == (args.orphan is None):
        raise UsageError("give either a key reference or --orphan ID")
    home = load_home(args)
    if args.orphan is not None:
        return _remove_orphan(args, home, args.orphan)
    ref = keys.parse_ref(args.ref)
    key = home.registry().key(ref)
    if key is None:
        raise KeyNotFound(f"no key {ref}", hint="see 'kutui key list'")
    refuse_open_rotation(home.paths.rotations_dir, [key])  # before asking
    if not confirm(f"Remove {ref} (…{key.fingerprint}) and its credentials?", yes=args.yes):
        notice("nothing removed")
        return 1
    vault = None
    if key.has_secret:
        vault = open_vault(args, home)
    elif home.vault_exists():
        # No secret on record, but an interrupted add may have stored one: drop it if we can.
        try:
            vault = open_vault(args, home)
        except UnlockError:
            log.debug("vault not unlocked: %s has no secret on record", ref)
    notice(keys.remove_key(home, key.id, vault).summary)
    return 0


def _remove_orphan(args: argparse.Namespace, home: Home, key_id: str) -> int:
    from kutui.commands.common import confirm, notice, open_vault
    from kutui.errors import UsageError
    from kutui.ops import keys

    listed = home.registry().key_by_id(key_id)
    if listed is not None:
        raise UsageError(
            f"{key_id} is the id of {listed.ref}, not an orphan",
            hint=f"kutui key remove {listed.ref}",
        )
    vault = open_vault(args, home)
    if key_id in vault.data.key_ids() and not confirm(
        f"Remove vault entry {key_id} (not in the registry)?", yes=args.yes
    ):
        notice("nothing removed")
        return 1
    notice(keys.remove_orphan(home, vault, key_id).summary)
    return 0
