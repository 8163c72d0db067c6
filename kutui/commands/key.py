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
    add_json_flag(lst)
    lst.set_defaults(func=run_list)

    rm = sub.add_parser("remove", help="remove a key and its credentials")
    rm.add_argument("ref", metavar="ACCOUNT[/SUB]/LABEL")
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


def run_add(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice, open_vault, require_vault, warn
    from kutui.errors import UsageError
    from kutui.model import Credential, credential_problem, fingerprint, now_utc, secret_warning
    from kutui.text import clean_text

    ref = parse_ref(args.ref)
    home = load_home(args)
    require_vault(home)
    # A key `kutui import` listed (metadata only) is filled in, not refused: its own fix text says
    # "kutui key add REF".
    existing = home.registry().key(ref)
    if existing is not None and existing.has_secret:
        raise UsageError(f"key {ref} already exists", hint="remove it first, or pick another label")
    vault = open_vault(args, home)
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

    def put(data: VaultData) -> None:
        other = _stored_api_keys(data).get(api_key.reveal())
        if other is not None:
            known = registry.key_by_id(other)
            where = str(known.ref) if known else "an entry not in accounts.toml"
            raise UsageError(f"this API key (…{new_fingerprint}) is already stored as {where}")
        data.put(key.id, credential)

    vault.update(put)
    home.note_vault_generation(vault)

    def record(reg: Registry) -> list[str]:
        current = reg.key(ref)
        if existing is None:
            if current is not None:
                raise UsageError(f"key {ref} was added by another kutui meanwhile")
            created = ensure_owner(reg, ref, home.config.kucoin.api_url)
            reg.keys.append(key)
            return created
        if current is None or current.id != key.id or current.has_secret:
            raise UsageError(f"key {ref} was changed by another kutui meanwhile")
        current.has_secret = True
        current.fingerprint = new_fingerprint
        current.api_version = api_version
        if note:
            current.note.text = note
        return []

    try:
        created = home.update_registry(record)
    except BaseException:
        vault.update(lambda data: data.remove_key(key.id))  # do not leave an orphan credential
        raise
    log.debug("stored %s as id %s (fingerprint %s)", ref, key.id, new_fingerprint)
    for line in created:
        notice(line)
    notice(f"stored {ref} (key …{new_fingerprint}, version {api_version})")
    return 0


# --------------------------------------------------------------------------- key import


def _import_rows(
    rows: list[ImportRow],
    reports: list[RowReport],
    data: VaultData,
    registry: Registry,
    keys: dict[int, ApiKey],
) -> None:
    """Inside the one vault update: store every planned row, skipping API keys already stored."""
    from kutui.model import Credential, now_utc
    from kutui.store.keyfile import Outcome

    stored = _stored_api_keys(data)
    added_here: dict[str, str] = {}  # key id -> "REF (line 2)" for keys added by this file
    now = now_utc()
    for index, (row, report) in enumerate(zip(rows, reports, strict=True)):
        if report.outcome is not Outcome.ADDED or row.ref is None:
            continue
        clear_key = row.api_key.reveal()
        other = stored.get(clear_key)
        if other is not None:
            known = registry.key_by_id(other)
            where = (
                str(known.ref) if known else added_here.get(other, "an entry not in accounts.toml")
            )
            report.outcome = Outcome.SKIPPED
            report.reason = f"the same API key is already stored as {where}"
            continue
        key = _new_key(row.ref, row.fingerprint, row.api_version, row.note)
        data.put(
            key.id, Credential(row.api_key, row.api_secret, row.passphrase, row.api_version, now)
        )
        stored[clear_key] = key.id
        added_here[key.id] = f"{row.ref} ({row.where})"
        keys[index] = key


def _remove_keys(data: VaultData, key_ids: list[str]) -> None:
    for key_id in key_ids:
        data.remove_key(key_id)


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kutui.commands.common import load_home, notice, open_vault, print_json, require_vault, warn
    from kutui.store.keyfile import Outcome, plan_import, read_import_file

    path = Path(args.file).expanduser()
    home = load_home(args)
    require_vault(home)
    rows = read_import_file(path, fmt=args.format)
    registry = home.registry()
    reports = plan_import(rows, registry)
    keys: dict[int, ApiKey] = {}
    created: list[str] = []
    if any(r.outcome is Outcome.ADDED for r in reports):
        vault = open_vault(args, home)
        vault.update(lambda data: _import_rows(rows, reports, data, registry, keys))
        home.note_vault_generation(vault)
        orphans: list[str] = []

        def record(reg: Registry) -> None:
            present = {k.ref for k in reg.keys}
            for index, key in keys.items():
                if key.ref in present:  # added by another kutui since the plan
                    reports[index].outcome = Outcome.SKIPPED
                    reports[index].reason = f"{key.ref} already exists"
                    orphans.append(key.id)
                    continue
                created.extend(ensure_owner(reg, key.ref, home.config.kucoin.api_url))
                reg.keys.append(key)

        try:
            home.update_registry(record)
        except BaseException:
            vault.update(lambda data: _remove_keys(data, [k.id for k in keys.values()]))
            raise
        if orphans:
            vault.update(lambda data: _remove_keys(data, orphans))
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
    from kutui.commands.common import load_home, print_json, print_table

    registry = load_home(args).registry()
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
    if args.json:
        print_json([key_json(k) for k in keys])
        return 0
    if not keys:
        print("no keys yet: add one with 'kutui key add ACCOUNT/LABEL'")
        return 0
    print_table(
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
    return 0


# --------------------------------------------------------------------------- key remove


def run_remove(args: argparse.Namespace) -> int:
    from kutui.commands.common import confirm, load_home, notice, open_vault
    from kutui.errors import KeyNotFound

    ref = parse_ref(args.ref)
    home = load_home(args)
    key = home.registry().key(ref)
    if key is None:
        raise KeyNotFound(f"no key {ref}", hint="see 'kutui key list'")
    from kutui.rotation.store import refuse_open_rotation

    refuse_open_rotation(home.paths.rotations_dir, [key])
    if not confirm(f"Remove {ref} (…{key.fingerprint}) and its credentials?", yes=args.yes):
        notice("nothing removed")
        return 1
    if key.has_secret:
        vault = open_vault(args, home)
        vault.update(lambda data: data.remove_key(key.id))
        home.note_vault_generation(vault)

    def remove(reg: Registry) -> None:
        reg.keys = [k for k in reg.keys if k.id != key.id]

    home.update_registry(remove)
    notice(f"removed {ref}; the key still exists on KuCoin until you delete it there")
    return 0
