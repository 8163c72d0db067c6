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
    from kutui.model import ApiKey, KeyRef, Registry
    from kutui.secret import Secret
    from kutui.store.home import Home
    from kutui.store.keyfile import ImportRow, RowReport
    from kutui.store.vault import VaultData


log = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- shared


def parse_ref(text: str) -> KeyRef:
    from kutui.errors import UsageError
    from kutui.model import KeyRef

    try:
        return KeyRef.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def ensure_owner(registry: Registry, ref: KeyRef, api_url: str) -> list[str]:
    """Create the account and sub-account ``ref`` names if missing; returns notices."""
    from kutui.model import Account, SubAccount

    created: list[str] = []
    account = registry.account(ref.account)
    if account is None:
        account = Account(name=ref.account, api_url=api_url)
        registry.accounts.append(account)
        created.append(f"created account {ref.account} ({api_url})")
    if ref.sub and account.sub(ref.sub) is None:
        account.subaccounts.append(SubAccount(name=ref.sub))
        created.append(f"created sub-account {ref.account}/{ref.sub}")
    return created


def _stored_api_keys(data: VaultData) -> dict[str, str]:
    """API key (clear, in memory only) -> key id, over every slot."""
    found: dict[str, str] = {}
    for key_id in data.key_ids():
        for credential in data.slots(key_id).values():
            found[credential.api_key.reveal()] = key_id
    return found


def _refuse_duplicate(
    data: VaultData, registry: Registry, key_id: str, api_key: Secret, shown: str
) -> None:
    """``UsageError`` when another entry than ``key_id``'s own (an interrupted add's) holds
    ``api_key``."""
    from kutui.errors import UsageError

    other = _stored_api_keys(data).get(api_key.reveal())
    if other is not None and other != key_id:
        raise UsageError(
            f"this API key (…{shown}) is already stored as {_stored_as(registry, other)}"
        )


def _stored_as(registry: Registry, key_id: str) -> str:
    """Where a stored credential belongs, for a refusal: its reference, or how to remove it."""
    known = registry.key_by_id(key_id)
    if known is not None:
        return str(known.ref)
    return (
        f"vault entry {key_id}, which accounts.toml does not list (left by an interrupted add); "
        f"remove it with 'kutui key remove --orphan {key_id}'"
    )


def _new_key(ref: KeyRef, fingerprint: str, api_version: int, note: str) -> ApiKey:
    import uuid

    from kutui.model import ApiKey, PermissionNote, now_utc

    return ApiKey(
        id=uuid.uuid4().hex,
        ref=ref,
        fingerprint=fingerprint,
        api_version=api_version,
        added_at=now_utc(),
        has_secret=True,
        note=PermissionNote(text=note),
    )


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


def _read_credentials() -> tuple[Secret, Secret, Secret]:

    from kutui.commands.common import is_tty, secret_prompt
    from kutui.errors import UsageError
    from kutui.model import clean_pasted
    from kutui.secret import Secret

    if is_tty():
        values = [
            secret_prompt("API key"),
            secret_prompt("API secret"),
            secret_prompt("API passphrase"),
        ]
        return (
            Secret(clean_pasted(values[0].reveal())),
            Secret(clean_pasted(values[1].reveal())),
            Secret(clean_pasted(values[2].reveal())),
        )
    lines = [Secret(clean_pasted(_read_stdin_line(number))) for number in (1, 2, 3)]
    if not all(lines):
        raise UsageError(
            "stdin must hold three lines: the API key, the API secret and the API passphrase"
        )
    return lines[0], lines[1], lines[2]


def _refuse_stored(registry: Registry, ref: KeyRef) -> ApiKey | None:
    """The key ``ref`` names if it has no stored secret yet (``kutui import`` lists such keys and
    their fix text says "kutui key add REF"); a key with one is refused."""
    from kutui.errors import UsageError

    existing = registry.key(ref)
    if existing is not None and existing.has_secret:
        raise UsageError(f"key {ref} already exists", hint="remove it first, or pick another label")
    return existing


def run_add(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from kutui.commands.common import load_home, notice, open_vault, require_vault, warn
    from kutui.errors import UsageError
    from kutui.model import Credential, credential_problem, fingerprint, now_utc, secret_warning
    from kutui.text import clean_text

    ref = parse_ref(args.ref)
    home = load_home(args)
    require_vault(home)
    existing = _refuse_stored(home.registry(), ref)
    vault = open_vault(args, home)
    # Unlocking adopts credentials an interrupted add stored (Home.add_credentials): look again.
    existing = _refuse_stored(home.registry(), ref)
    api_key, api_secret, passphrase = _read_credentials()
    problem = credential_problem(api_key.reveal(), api_secret.reveal(), passphrase.reveal())
    if problem:
        raise UsageError(problem + "; nothing was stored")
    new_fingerprint = fingerprint(api_key.reveal())
    if existing is not None and existing.fingerprint and existing.fingerprint != new_fingerprint:
        raise UsageError(
            f"{ref} is the KuCoin key …{existing.fingerprint}, but this API key ends "
            f"…{new_fingerprint}; nothing was stored"
        )
    warning = secret_warning(api_secret.reveal())
    if warning:
        warn(warning)
    api_version = args.api_version or (existing.api_version if existing is not None else 3)
    note = clean_text(args.note, multiline=True).strip()
    key = existing if existing is not None else _new_key(ref, new_fingerprint, api_version, note)
    credential = Credential(api_key, api_secret, passphrase, api_version, now_utc())
    registry = home.registry()
    created: list[str] = []
    _refuse_duplicate(vault.data, registry, key.id, api_key, new_fingerprint)  # before any write

    def register(reg: Registry) -> list[str]:
        current = reg.key(ref)
        if existing is None:
            if current is not None:
                raise UsageError(f"key {ref} was added by another kutui meanwhile")
            created.extend(ensure_owner(reg, ref, home.config.kucoin.api_url))
            reg.keys.append(replace(key, has_secret=False))
            return [key.id]
        if current is None or current.id != key.id or current.has_secret:
            raise UsageError(f"key {ref} was changed by another kutui meanwhile")
        return []

    def put(data: VaultData) -> set[str]:
        _refuse_duplicate(data, registry, key.id, api_key, new_fingerprint)  # again, locked
        data.put(key.id, credential)
        return {key.id}

    def finish(reg: Registry, stored: set[str]) -> None:
        current = reg.key_by_id(key.id)
        if current is not None and existing is not None:
            current.fingerprint = new_fingerprint
            current.api_version = api_version
            if note:
                current.note.text = note

    home.add_credentials(vault, {key.id}, register, put, finish)
    log.debug("stored %s as id %s (fingerprint %s)", ref, key.id, new_fingerprint)
    for line in created:
        notice(line)
    notice(f"stored {ref} (key …{new_fingerprint}, version {api_version})")
    return 0


# --------------------------------------------------------------------------- key import


def _plan_keys(
    rows: list[ImportRow], reports: list[RowReport], registry: Registry
) -> dict[int, ApiKey]:
    """The key record each row planned as added will fill: a listed key without a secret (an
    interrupted import, or ``kutui import``'s metadata), else a new one."""
    from kutui.store.keyfile import Outcome

    keys: dict[int, ApiKey] = {}
    for index, (row, report) in enumerate(zip(rows, reports, strict=True)):
        if report.outcome is not Outcome.ADDED or row.ref is None:
            continue
        listed = registry.key(row.ref)
        if listed is None:
            keys[index] = _new_key(row.ref, row.fingerprint, row.api_version, row.note)
        elif listed.fingerprint and listed.fingerprint != row.fingerprint:
            report.outcome = Outcome.REJECTED
            report.reason = (
                f"{row.ref} is the KuCoin key …{listed.fingerprint}, but this API key ends "
                f"…{row.fingerprint}"
            )
        else:
            keys[index] = listed
    return keys


def _drop_stored_rows(
    rows: list[ImportRow],
    reports: list[RowReport],
    data: VaultData,
    registry: Registry,
    keys: dict[int, ApiKey],
) -> None:
    """Take out of ``keys`` the rows whose API key ``data`` (or an earlier row) already holds,
    saying why: skipped when a listed key holds it, rejected when no key record does."""
    from kutui.store.keyfile import Outcome

    stored = _stored_api_keys(data)
    added_here: dict[str, str] = {}  # key id -> "REF (line 2)" for keys added by this file
    for index in sorted(keys):
        row, report, key = rows[index], reports[index], keys[index]
        clear_key = row.api_key.reveal()
        other = stored.get(clear_key)
        if other is None or other == key.id:  # its own id: left by an interrupted import
            stored[clear_key] = key.id
            added_here[key.id] = f"{row.ref} ({row.where})"
            continue
        del keys[index]
        known = registry.key_by_id(other)
        if known is None and other not in added_here:
            report.outcome = Outcome.REJECTED  # nothing the user can see holds it: say so
            report.reason = f"the same API key is already stored as {_stored_as(registry, other)}"
            continue
        report.outcome = Outcome.SKIPPED
        where = str(known.ref) if known else added_here[other]
        report.reason = f"the same API key is already stored as {where}"


def _import_rows(
    rows: list[ImportRow],
    reports: list[RowReport],
    data: VaultData,
    registry: Registry,
    keys: dict[int, ApiKey],
) -> set[str]:
    """Inside the one vault update: store every planned row, skipping API keys already stored.
    Returns the ids stored; a row not stored leaves ``keys``."""
    from kutui.model import Credential, now_utc

    _drop_stored_rows(rows, reports, data, registry, keys)  # again: another kutui may have saved
    now = now_utc()
    for index, key in keys.items():
        row = rows[index]
        data.put(
            key.id, Credential(row.api_key, row.api_secret, row.passphrase, row.api_version, now)
        )
    return {key.id for key in keys.values()}


def run_import(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from kutui.commands.common import load_home, notice, open_vault, print_json, require_vault, warn
    from kutui.store.keyfile import Outcome, plan_import, read_import_file

    path = Path(args.file).expanduser()
    home = load_home(args)
    require_vault(home)
    rows = read_import_file(path, fmt=args.format)
    reports = plan_import(rows, home.registry())
    created: list[str] = []
    if any(r.outcome is Outcome.ADDED for r in reports):
        vault = open_vault(args, home)
        registry = home.registry()  # unlocking may have adopted an interrupted import's keys
        reports = plan_import(rows, registry)
        keys = _plan_keys(rows, reports, registry)
        # Refused before anything is written (no record, no account created for them).
        _drop_stored_rows(rows, reports, vault.data, registry, keys)

        def register(reg: Registry) -> list[str]:
            added: list[str] = []
            for index, key in list(keys.items()):
                listed = reg.key(key.ref)
                if listed is None:
                    created.extend(ensure_owner(reg, key.ref, home.config.kucoin.api_url))
                    reg.keys.append(replace(key, has_secret=False))
                    added.append(key.id)
                elif listed.id != key.id or listed.has_secret:  # by another kutui since the plan
                    reports[index].outcome = Outcome.SKIPPED
                    reports[index].reason = f"{key.ref} already exists"
                    del keys[index]
            return added

        def finish(reg: Registry, stored: set[str]) -> None:
            for index, key in keys.items():
                listed = reg.key_by_id(key.id)
                if listed is not None and key.id in stored:  # a listed key filled in
                    listed.fingerprint = rows[index].fingerprint
                    listed.api_version = rows[index].api_version

        if keys:
            home.add_credentials(
                vault,
                {key.id for key in keys.values()},
                register,
                lambda data: _import_rows(rows, reports, data, registry, keys),
                finish,
            )
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
        for line in created:
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


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key's metadata for ``--json`` (no secret: the fingerprint is the last 4 characters)."""
    check = key.last_check
    return {
        "ref": str(key.ref),
        "account": key.ref.account,
        "sub": key.ref.sub,
        "label": key.ref.label,
        "id": key.id,
        "fingerprint": key.fingerprint,
        "api_version": key.api_version,
        "status": key.status.value,
        "has_secret": key.has_secret,
        "added_at": key.added_at,
        "created_at": key.created_at,
        "expire_days": key.expire_days,
        "remote": key.remote.value,
        "permissions_seen": list(key.permissions_seen),
        "ip_whitelist_seen": key.ip_whitelist_seen,
        "last_checked_at": check.checked_at if check else None,
        "note": key.note.text,
        "expected_permissions": list(key.note.expected_permissions),
        "consumers": list(key.note.consumers),
    }


def run_list(args: argparse.Namespace) -> int:
    from kutui.commands.account import parse_owner
    from kutui.commands.common import load_home

    home = load_home(args)
    if args.orphans:
        return _list_orphans(args, home)
    registry = home.registry()
    keys = registry.keys
    if args.owner:
        from kutui.errors import KeyNotFound

        account, sub = parse_owner(args.owner)
        node = registry.account(account)
        if node is None or (sub and node.sub(sub) is None):
            # An empty list would read as "no keys yet" for a mistyped name.
            what = f"sub-account '{account}/{sub}'" if sub else f"account '{account}'"
            raise KeyNotFound(f"no {what}", hint="see 'kutui account list'")
        keys = registry.keys_under(account, sub if sub else None)
    keys = sorted(keys, key=lambda k: k.ref)
    return _show(
        args.json,
        [key_json(k) for k in keys] if args.json else [],
        "no keys yet: add one with 'kutui key add ACCOUNT/LABEL'",
        ["KEY", "FPR", "VER", "STATUS", "ADDED", "NOTE"],
        []
        if args.json  # the table's rows are not printed: not built either
        else [
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

    if (args.ref is None) == (args.orphan is None):
        raise UsageError("give either a key reference or --orphan ID")
    home = load_home(args)
    if args.orphan is not None:
        return _remove_orphan(args, home, args.orphan)
    ref = parse_ref(args.ref)
    key = home.registry().key(ref)
    if key is None:
        raise KeyNotFound(f"no key {ref}", hint="see 'kutui key list'")
    from kutui.rotation.store import refuse_open_rotation

    refuse_open_rotation(home.paths.rotations_dir, [key])
    if not confirm(f"Remove {ref} (…{key.fingerprint}) and its credentials?", yes=args.yes):
        notice("nothing removed")
        return 1
    # The vault first: interrupted here, the key is still listed and this command runs again.
    if key.has_secret:
        vault = open_vault(args, home)
        vault.update(lambda data: data.remove_key(key.id))
        home.note_vault_generation(vault)
    elif home.vault_exists():
        # No secret on record, but an interrupted add may have stored one: drop it if we can.
        try:
            vault = open_vault(args, home)
        except UnlockError:
            log.debug("vault not unlocked: %s has no secret on record", ref)
        else:
            vault.update(lambda data: data.remove_key(key.id))

    def remove(reg: Registry) -> None:
        reg.keys = [k for k in reg.keys if k.id != key.id]

    home.update_registry(remove)
    notice(f"removed {ref}; the key still exists on KuCoin until you delete it there")
    return 0


def _remove_orphan(args: argparse.Namespace, home: Home, key_id: str) -> int:
    from kutui.commands.common import confirm, notice, open_vault
    from kutui.errors import KeyNotFound, UsageError

    listed = home.registry().key_by_id(key_id)
    if listed is not None:
        raise UsageError(
            f"{key_id} is the id of {listed.ref}, not an orphan",
            hint=f"kutui key remove {listed.ref}",
        )
    vault = open_vault(args, home)
    if key_id not in vault.data.key_ids():
        raise KeyNotFound(f"the vault has no entry {key_id}", hint="see 'kutui key list --orphans'")
    if not confirm(f"Remove vault entry {key_id} (not in accounts.toml)?", yes=args.yes):
        notice("nothing removed")
        return 1

    def drop(data: VaultData) -> None:
        if home.registry().key_by_id(key_id) is not None:  # adopted meanwhile by another kutui
            raise UsageError(f"{key_id} is now listed in accounts.toml; nothing removed")
        data.remove_key(key_id)

    vault.update(drop)
    home.note_vault_generation(vault)
    notice(f"removed vault entry {key_id}")
    return 0
