"""Keys: add (or fill in a listed key's secret), import a file of keys, edit, rename, remove.

Every rule about a key's credentials lives here once: an API key is stored under one name only; a
key ``kutui import`` listed (no secret yet) keeps its KuCoin identity (its fingerprint); a key
with a secret is not replaced by an add. Registry and vault are written in the order
``Home.add_credentials`` documents, so an interruption leaves nothing that blocks a retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kutui.errors import KeyNotFound, UnlockError, UsageError
from kutui.model import (
    Account,
    ApiKey,
    Credential,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    SubAccount,
    credential_problem,
    fingerprint,
    now_utc,
    secret_warning,
)
from kutui.ops.change import Change
from kutui.secret import Secret
from kutui.store.keyfile import ImportRow, RowReport
from kutui.text import clean_text

if TYPE_CHECKING:
    from kutui.store.home import Home
    from kutui.store.vault import Vault, VaultData


@dataclass(frozen=True)
class Entered:
    """Credentials as the user typed or piped them (already cleaned of paste artefacts)."""

    api_key: Secret
    api_secret: Secret
    passphrase: Secret

    def problem(self) -> str | None:
        return credential_problem(
            self.api_key.reveal(), self.api_secret.reveal(), self.passphrase.reveal()
        )

    def complete(self) -> bool:
        return bool(self.api_key and self.api_secret and self.passphrase)

    def kept_from(self, stored: Credential) -> Entered:
        """Each field left empty keeps its stored value: re-entering only the passphrase is
        the fix for the most common failure (README.md, "Keys in the TUI")."""
        return Entered(
            self.api_key or stored.api_key,
            self.api_secret or stored.api_secret,
            self.passphrase or stored.passphrase,
        )


def parse_ref(text: str) -> KeyRef:
    try:
        return KeyRef.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def ensure_owner(registry: Registry, ref: KeyRef, api_url: str) -> list[str]:
    """Create the account and sub-account ``ref`` names if missing; returns notices."""
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


def refuse_stored(registry: Registry, ref: KeyRef) -> ApiKey | None:
    """The key ``ref`` names if it has no stored secret yet (``kutui import`` lists such keys and
    their fix text says "kutui key add REF"); a key with one is refused."""
    existing = registry.key(ref)
    if existing is not None and existing.has_secret:
        raise UsageError(f"key {ref} already exists", hint="remove it first, or pick another label")
    return existing


def refuse_other_identity(listed: ApiKey, new_fingerprint: str) -> None:
    """An imported key: KuCoin told us which key this entry is; another key's credentials would
    silently turn it into a different key."""
    if listed.fingerprint and listed.fingerprint != new_fingerprint:
        raise UsageError(
            f"{listed.ref} is the KuCoin key …{listed.fingerprint}, but this API key ends "
            f"…{new_fingerprint}; nothing was stored"
        )


def stored_api_keys(data: VaultData) -> dict[str, str]:
    """API key (clear, in memory only) -> key id, over every slot."""
    found: dict[str, str] = {}
    for key_id in data.key_ids():
        for credential in data.slots(key_id).values():
            found[credential.api_key.reveal()] = key_id
    return found


def stored_as(registry: Registry, key_id: str) -> str:
    """Where a stored credential belongs, for a refusal: its reference, or how to remove it."""
    known = registry.key_by_id(key_id)
    if known is not None:
        return str(known.ref)
    return (
        f"vault entry {key_id}, which the registry does not list (left by an interrupted add); "
        f"remove it with 'kutui key remove --orphan {key_id}'"
    )


def refuse_duplicate(data: VaultData, registry: Registry, key_id: str, api_key: Secret) -> None:
    """``UsageError`` when another entry than ``key_id``'s own (an interrupted add's) holds
    ``api_key``: one API key is stored under one name."""
    other = stored_api_keys(data).get(api_key.reveal())
    if other is not None and other != key_id:
        shown = fingerprint(api_key.reveal())
        raise UsageError(
            f"this API key (…{shown}) is already stored as {stored_as(registry, other)}"
        )


def new_key(
    ref: KeyRef, key_fingerprint: str, api_version: int, note: str, added_at: datetime
) -> ApiKey:
    return ApiKey(
        id=uuid.uuid4().hex,
        ref=ref,
        fingerprint=key_fingerprint,
        api_version=api_version,
        added_at=added_at,
        has_secret=True,
        note=PermissionNote(text=note),
    )


# --------------------------------------------------------------------------- add


def add_key(
    home: Home,
    vault: Vault,
    ref: KeyRef,
    entered: Entered,
    *,
    api_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Change:
    """Store one key's credentials: a new key (its account and sub-account created if missing),
    or the secret of a key ``kutui import`` listed without one."""
    existing = refuse_stored(home.registry(), ref)
    problem = entered.problem()
    if problem:
        raise UsageError(problem + "; nothing was stored")
    new_fingerprint = fingerprint(entered.api_key.reveal())
    if existing is not None:
        refuse_other_identity(existing, new_fingerprint)
    warning = secret_warning(entered.api_secret.reveal())
    version = api_version or (existing.api_version if existing is not None else 3)
    text = clean_text(note, multiline=True).strip()
    when = now or now_utc()
    key = existing if existing is not None else new_key(ref, new_fingerprint, version, text, when)
    credential = Credential(entered.api_key, entered.api_secret, entered.passphrase, version, when)
    registry = home.registry()
    created: list[str] = []
    refuse_duplicate(vault.data, registry, key.id, entered.api_key)  # before any write

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
        refuse_duplicate(data, registry, key.id, entered.api_key)  # again, locked
        data.put(key.id, credential)
        return {key.id}

    def finish(reg: Registry, stored: set[str]) -> None:
        current = reg.key_by_id(key.id)
        if current is not None and existing is not None:
            current.fingerprint = new_fingerprint
            current.api_version = version
            if text:
                current.note.text = text

    home.add_credentials(vault, {key.id}, register, put, finish)
    return Change(
        f"stored {ref} (key …{new_fingerprint}, version {version})",
        notices=tuple(created),
        warnings=(warning,) if warning else (),
        key_ids=(key.id,),
    )


# --------------------------------------------------------------------------- import a file


@dataclass
class KeyImport:
    """What ``import_keys`` did, row by row (``RowReport``: added, skipped or rejected)."""

    rows: list[ImportRow]
    reports: list[RowReport]
    created: list[str] = field(default_factory=list)


def _plan_keys(
    rows: list[ImportRow], reports: list[RowReport], registry: Registry, now: datetime
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
            keys[index] = new_key(row.ref, row.fingerprint, row.api_version, row.note, now)
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

    stored = stored_api_keys(data)
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
            report.reason = f"the same API key is already stored as {stored_as(registry, other)}"
            continue
        report.outcome = Outcome.SKIPPED
        where = str(known.ref) if known else added_here[other]
        report.reason = f"the same API key is already stored as {where}"


def import_keys(
    home: Home,
    path: Path,
    open_vault: Callable[[], Vault],
    *,
    fmt: str | None = None,
    now: datetime | None = None,
) -> KeyImport:
    """Store many keys from a TOML, CSV or JSON file in one vault write. ``open_vault`` is
    called only when some row is to be added."""
    from kutui.store.keyfile import Outcome, plan_import, read_import_file

    rows = read_import_file(path, fmt=fmt)
    reports = plan_import(rows, home.registry())
    outcome = KeyImport(rows, reports)
    if not any(r.outcome is Outcome.ADDED for r in reports):
        return outcome
    vault = open_vault()
    when = now or now_utc()
    registry = home.registry()  # unlocking may have adopted an interrupted import's keys
    reports = outcome.reports = plan_import(rows, registry)
    keys = _plan_keys(rows, reports, registry, when)
    # Refused before anything is written (no record, no account created for them).
    _drop_stored_rows(rows, reports, vault.data, registry, keys)

    def register(reg: Registry) -> list[str]:
        added: list[str] = []
        for index, key in list(keys.items()):
            listed = reg.key(key.ref)
            if listed is None:
                outcome.created.extend(ensure_owner(reg, key.ref, home.config.kucoin.api_url))
                reg.keys.append(replace(key, has_secret=False))
                added.append(key.id)
            elif listed.id != key.id or listed.has_secret:  # by another kutui since the plan
                reports[index].outcome = Outcome.SKIPPED
                reports[index].reason = f"{key.ref} already exists"
                del keys[index]
        return added

    def put(data: VaultData) -> set[str]:
        _drop_stored_rows(rows, reports, data, registry, keys)  # again: another kutui may save
        for index, key in keys.items():
            row = rows[index]
            data.put(
                key.id,
                Credential(row.api_key, row.api_secret, row.passphrase, row.api_version, when),
            )
        return {key.id for key in keys.values()}

    def finish(reg: Registry, stored: set[str]) -> None:
        for index, key in keys.items():
            listed = reg.key_by_id(key.id)
            if listed is not None and key.id in stored:  # a listed key filled in
                listed.fingerprint = rows[index].fingerprint
                listed.api_version = rows[index].api_version

    if keys:
        home.add_credentials(vault, {key.id for key in keys.values()}, register, put, finish)
    return outcome


# --------------------------------------------------------------------------- edit / rename


def edit_key(
    home: Home,
    vault: Vault,
    key_id: str,
    *,
    ref: KeyRef,
    api_version: int,
    entered: Entered | None = None,
    now: datetime | None = None,
) -> Change:
    """Rename a key, change its version, and (``entered``) replace its credentials."""
    key = home.registry().key_by_id(key_id)
    if key is None:
        raise KeyNotFound("the key was removed meanwhile")
    new_fp = key.fingerprint
    if entered is not None and not entered.complete():
        stored_cred = vault.data.get(key_id)
        if stored_cred is None:
            raise UsageError(
                f"{key.ref} has no stored credentials to keep: enter the API key, the secret "
                "and the passphrase; nothing was stored"
            )
        entered = entered.kept_from(stored_cred)
    if entered is not None:
        problem = entered.problem()
        if problem:
            raise UsageError(problem + "; nothing was stored")
        new_fp = fingerprint(entered.api_key.reveal())
        if not key.has_secret:
            refuse_other_identity(key, new_fp)
        refuse_duplicate(vault.data, home.registry(), key_id, entered.api_key)
        credential = Credential(
            entered.api_key, entered.api_secret, entered.passphrase, api_version, now or now_utc()
        )
        registry = home.registry()

        def put(data: VaultData) -> None:
            refuse_duplicate(data, registry, key_id, entered.api_key)  # again, locked
            data.put(key_id, credential)

        vault.update(put)
        home.note_vault_generation(vault)

    def change(reg: Registry) -> None:
        stored = reg.key_by_id(key_id)
        if stored is None:
            raise UsageError(f"{key.ref} was removed meanwhile")
        other = reg.key(ref)
        if other is not None and other.id != key_id:
            raise UsageError(f"key {ref} exists already")
        stored.ref, stored.api_version = ref, api_version
        if entered is not None:
            stored.fingerprint, stored.has_secret = new_fp, True
            stored.last_check, stored.remote = None, RemoteState.UNKNOWN

    home.update_registry(change)
    return Change(f"saved {ref}", key_ids=(key_id,))


# --------------------------------------------------------------------------- remove


def remove_key(home: Home, key_id: str, vault: Vault | None) -> Change:
    """Remove a key, its credentials and its check history (kutui.db deletes them with it).

    Refused while the key has an open rotation. The vault first: interrupted between the two
    writes, the key is still listed and removing it again finishes the job. ``vault`` may be
    None only for a key without a stored secret."""
    from kutui.rotation.store import refuse_open_rotation

    key = home.registry().key_by_id(key_id)
    if key is None:
        raise KeyNotFound("no such key (removed meanwhile?)", hint="see 'kutui key list'")
    refuse_open_rotation(home.paths.rotations_dir, [key])
    if vault is None and key.has_secret:
        raise UnlockError(f"unlock the vault to remove {key.ref} and its credentials")
    if vault is not None:
        vault.update(lambda data: _drop(data, {key_id}))
        home.note_vault_generation(vault)

    def remove(reg: Registry) -> None:
        reg.keys = [k for k in reg.keys if k.id != key_id]

    home.update_registry(remove)
    return Change(
        f"removed {key.ref}; the key still exists on KuCoin until you delete it there",
        key_ids=(key_id,),
    )


def _drop(data: VaultData, ids: set[str]) -> None:
    present = set(data.key_ids())
    for key_id in ids & present:
        data.remove_key(key_id)


def drop_credentials(data: VaultData, ids: set[str]) -> None:
    """Remove the entries ``ids`` that the vault holds (one vault write for all of them)."""
    _drop(data, ids)


def remove_orphan(home: Home, vault: Vault, key_id: str) -> Change:
    """Remove a vault entry the registry does not list (left by an interrupted add)."""
    listed = home.registry().key_by_id(key_id)
    if listed is not None:
        raise UsageError(
            f"{key_id} is the id of {listed.ref}, not an orphan",
            hint=f"kutui key remove {listed.ref}",
        )
    if key_id not in vault.data.key_ids():
        raise KeyNotFound(f"the vault has no entry {key_id}", hint="see 'kutui key list --orphans'")

    def drop(data: VaultData) -> None:
        if home.registry().key_by_id(key_id) is not None:  # adopted meanwhile by another kutui
            raise UsageError(f"{key_id} is now listed in the registry; nothing removed")
        data.remove_key(key_id)

    vault.update(drop)
    home.note_vault_generation(vault)
    return Change(f"removed vault entry {key_id}")
