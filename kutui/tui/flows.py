"""The main screen's key and account flows: notes, reveal/copy, add/edit/remove, import.

Each flow opens one of the modal screens, then saves the answer through ``KutuiApp.persist``
(a thread worker: lock, re-read, change, atomic write) and reloads the registry. Secrets go
straight from the form's ``Secret`` fields into the vault; nothing here keeps them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING

from kutui.errors import KutuiError, UsageError
from kutui.model import (
    Account,
    ApiKey,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    SubAccount,
    fingerprint,
)

if TYPE_CHECKING:
    from kutui.model import Credential
    from kutui.store.vault import VaultData
    from kutui.tui.app import KutuiApp
    from kutui.tui.screens.forms import (
        AccountFormResult,
        KeyFormResult,
        SubAccountFormResult,
    )
    from kutui.tui.screens.import_progress import ImportProgress
    from kutui.tui.screens.main import MainScreen


def _key_or_warn(screen: MainScreen) -> ApiKey | None:
    key = screen.selected_key
    if key is None:
        screen.notify("Select a key in the table first (l, then j/k).", severity="warning")
    return key


def _credential_or_warn(app: KutuiApp, key: ApiKey) -> Credential | None:
    if app.vault is None:
        app.notify("Unlock the vault first (ctrl+l).", severity="warning")
        return None
    cred = app.vault.data.get(key.id)
    if cred is None:
        bad = app.vault.data.problem(key.id)
        text = (
            f"The stored credentials of {key.ref} (key id {key.id}) cannot be used: {bad.why}. "
            "Remove the key (d) and add it again."
            if bad is not None
            else f"No credentials are stored for {key.ref}."
        )
        app.notify(text, severity="warning", markup=False)
    return cred


# --------------------------------------------------------------------------- notes


def save_note(app: KutuiApp, key: ApiKey, note: PermissionNote) -> None:
    key_id = key.id

    def change(reg: Registry) -> None:
        stored = reg.key_by_id(key_id)
        if stored is None:
            raise UsageError(f"{key.ref} was removed meanwhile; note not saved")
        stored.note = note

    key.note = note
    app.persist(f"Saved the note of {key.ref}.", lambda: app.home.update_registry(change))


def edit_note(screen: MainScreen) -> None:
    from kutui.tui.screens.notes import NotesEditor

    key = _key_or_warn(screen)
    if key is None:
        return

    def done(note: PermissionNote | None) -> None:
        if note is not None:
            save_note(screen.kapp, key, note)

    screen.app.push_screen(NotesEditor(key.note, title=f"Permission note: {key.ref}"), done)


def edit_note_in_editor(screen: MainScreen) -> None:
    from textual.app import SuspendNotSupported

    from kutui.tui.editor import EditorError, edit_text_in_editor

    key = _key_or_warn(screen)
    if key is None:
        return
    try:
        text = edit_text_in_editor(screen.app, key.note.text)
    except (EditorError, SuspendNotSupported) as exc:
        screen.notify(
            str(exc) or "This terminal cannot hand over to an editor.",
            severity="error",
            markup=False,
        )
        return
    if text != key.note.text:
        note = PermissionNote(text, key.note.expected_permissions, key.note.consumers)
        save_note(screen.kapp, key, note)


# --------------------------------------------------------------------------- reveal / copy


def reveal(screen: MainScreen) -> None:
    from kutui.tui.screens.reveal import RevealScreen

    key = _key_or_warn(screen)
    cred = _credential_or_warn(screen.kapp, key) if key else None
    if key is None or cred is None:
        return
    screen.app.push_screen(
        RevealScreen(
            f"Credentials of {key.ref}",
            api_key=cred.api_key,
            api_secret=cred.api_secret,
            passphrase=cred.passphrase,
            reveal_now=True,
        )
    )


def copy(screen: MainScreen, what: str) -> None:
    """``what``: "api_key" (at once), "api_secret" or "passphrase" (after a confirm)."""
    key = _key_or_warn(screen)
    cred = _credential_or_warn(screen.kapp, key) if key else None
    if key is None or cred is None:
        return
    clipboard = screen.kapp.clipboard_guard
    if what == "api_key":
        clipboard.copy_api_key(cred.api_key, label=str(key.ref))
    elif what == "api_secret":
        clipboard.copy_with_confirm(cred.api_secret, what="API secret", label=str(key.ref))
    else:
        clipboard.copy_with_confirm(cred.passphrase, what="API passphrase", label=str(key.ref))


# --------------------------------------------------------------------------- add


def _accounts_map(registry: Registry) -> dict[str, list[str]]:
    return {a.name: [s.name for s in a.subaccounts] for a in registry.accounts}


def add_key(screen: MainScreen) -> None:
    from kutui.tui.screens.forms import KeyForm

    app = screen.kapp
    if app.vault is None:
        app.notify("Unlock the vault first (ctrl+l).", severity="warning")
        return
    node = screen.node
    start = KeyRef(node.account, node.sub or "", "") if not node.is_root else None
    form = KeyForm(
        ref=start,
        accounts=_accounts_map(app.registry),
        existing_refs=[k.ref for k in app.registry.keys],
        title="Add key",
    )
    screen.app.push_screen(form, lambda result: _save_new_key(app, result))


def _save_new_key(app: KutuiApp, result: KeyFormResult | None) -> None:
    from kutui.model import Credential

    if result is None or result.credentials is None or app.vault is None:
        return
    entered = result.credentials
    key = ApiKey(
        id=uuid.uuid4().hex,
        ref=result.ref,
        fingerprint=fingerprint(entered.api_key.reveal()),
        api_version=result.api_version,
        added_at=app.now(),
        has_secret=True,
    )
    credential = Credential(
        entered.api_key, entered.api_secret, entered.passphrase, result.api_version, app.now()
    )
    vault, home = app.vault, app.home
    if app.main is not None:
        app.main.select_after_reload = key.id  # the new key is selected once it is listed

    def save() -> None:
        def register(reg: Registry) -> list[str]:
            if reg.key(key.ref) is not None:
                raise UsageError(f"key {key.ref} was added by another kutui meanwhile")
            reg.keys.append(replace(key, has_secret=False))
            return [key.id]

        def put(data: VaultData) -> set[str]:
            data.put(key.id, credential)
            return {key.id}

        # Registry, vault, registry: a crash in between leaves nothing that blocks a re-add.
        home.add_credentials(vault, {key.id}, register, put)

    app.persist(f"Stored {key.ref} (key …{key.fingerprint}).", save)


def add_account_or_sub(screen: MainScreen) -> None:
    from kutui.tui.screens.forms import AccountForm, SubAccountForm

    app = screen.kapp
    node = screen.node
    if node.is_root:
        form = AccountForm(
            existing_names=[a.name for a in app.registry.accounts],
            default_api_url=app.config.kucoin.api_url,
        )
        screen.app.push_screen(form, lambda result: _save_account(app, result, None))
        return
    account = app.registry.account(node.account)
    names = [s.name for s in account.subaccounts] if account else []
    screen.app.push_screen(
        SubAccountForm(node.account, existing_names=names),
        lambda result: _save_sub(app, result, ""),
    )


def _save_account(app: KutuiApp, result: AccountFormResult | None, old: str | None) -> None:
    if result is None:
        return

    def change(reg: Registry) -> None:
        if old is None:
            if reg.account(result.name) is not None:
                raise UsageError(f"account {result.name} exists already")
            reg.accounts.append(Account(name=result.name, api_url=result.api_url))
            return
        account = reg.account(old)
        if account is None:
            raise UsageError(f"account {old} was removed meanwhile")
        if result.name != old and reg.account(result.name) is not None:
            raise UsageError(f"account {result.name} exists already")
        account.name, account.api_url = result.name, result.api_url
        for key in reg.keys:
            if key.ref.account == old:
                key.ref = KeyRef(result.name, key.ref.sub, key.ref.label)

    verb = "Added" if old is None else "Saved"
    app.persist(f"{verb} account {result.name}.", lambda: app.home.update_registry(change))


def _save_sub(app: KutuiApp, result: SubAccountFormResult | None, old: str) -> None:
    if result is None:
        return

    def change(reg: Registry) -> None:
        account = reg.account(result.account)
        if account is None:
            raise UsageError(f"account {result.account} was removed meanwhile")
        if account.sub(result.name) is not None:
            raise UsageError(f"{result.account}/{result.name} exists already")
        if not old:
            account.subaccounts.append(SubAccount(name=result.name))
            return
        sub = account.sub(old)
        if sub is None:
            raise UsageError(f"{result.account}/{old} was removed meanwhile")
        sub.name = result.name
        for key in reg.keys:
            if key.ref.account == result.account and key.ref.sub == old:
                key.ref = KeyRef(result.account, result.name, key.ref.label)

    app.persist(
        f"Saved sub-account {result.account}/{result.name}.",
        lambda: app.home.update_registry(change),
    )


# --------------------------------------------------------------------------- edit


def edit_selected(screen: MainScreen) -> None:
    from kutui.tui.screens.forms import AccountForm, AccountFormResult, KeyForm, SubAccountForm

    app = screen.kapp
    key = screen.selected_key if screen.table.has_focus else None
    node = screen.node
    if key is not None:
        if app.vault is None:
            app.notify("Unlock the vault first (ctrl+l).", severity="warning")
            return
        form = KeyForm(
            ref=key.ref,
            accounts=_accounts_map(app.registry),
            existing_refs=[k.ref for k in app.registry.keys],
            api_version=key.api_version,
            require_credentials=False,
            title=f"Edit key {key.ref}",
        )
        screen.app.push_screen(form, lambda result: _save_key_edit(app, key, result))
    elif node.is_root:
        screen.notify("Select an account, a sub-account or a key to edit.", severity="warning")
    elif node.sub:
        account = app.registry.account(node.account)
        names = [s.name for s in account.subaccounts] if account else []
        screen.app.push_screen(
            SubAccountForm(node.account, initial=node.sub, existing_names=names),
            lambda result: _save_sub(app, result, node.sub or ""),
        )
    else:
        account = app.registry.account(node.account)
        if account is None:
            return
        screen.app.push_screen(
            AccountForm(
                initial=AccountFormResult(account.name, account.api_url),
                existing_names=[a.name for a in app.registry.accounts],
            ),
            lambda result: _save_account(app, result, account.name),
        )


def _save_key_edit(app: KutuiApp, key: ApiKey, result: KeyFormResult | None) -> None:
    from kutui.model import Credential

    if result is None or app.vault is None:
        return
    vault, home, key_id = app.vault, app.home, key.id
    entered = result.credentials
    new_fp = (
        fingerprint(entered.api_key.reveal()) if entered and entered.api_key else key.fingerprint
    )

    def save() -> None:
        if entered and not key.has_secret and key.fingerprint and key.fingerprint != new_fp:
            # An imported key: KuCoin told us which key this entry is; another key's credentials
            # would silently turn it into a different key.
            raise UsageError(
                f"{key.ref} is the KuCoin key …{key.fingerprint}, but this API key ends "
                f"…{new_fp}; nothing was stored"
            )
        if entered is not None:
            # A field left empty keeps its stored value (e.g. only the passphrase was wrong).
            stored_cred = vault.data.get(key_id)
            if stored_cred is None and not all(
                (entered.api_key, entered.api_secret, entered.passphrase)
            ):
                raise UsageError(
                    f"{key.ref} has no stored credentials to keep: enter the API key, the "
                    "secret and the passphrase; nothing was stored"
                )
            old = stored_cred
            credential = Credential(
                entered.api_key or (old.api_key if old else entered.api_key),
                entered.api_secret or (old.api_secret if old else entered.api_secret),
                entered.passphrase or (old.passphrase if old else entered.passphrase),
                result.api_version,
                app.now(),
            )
            vault.update(lambda data: data.put(key_id, credential))

        def change(reg: Registry) -> None:
            stored = reg.key_by_id(key_id)
            if stored is None:
                raise UsageError(f"{key.ref} was removed meanwhile")
            other = reg.key(result.ref)
            if other is not None and other.id != key_id:
                raise UsageError(f"key {result.ref} exists already")
            stored.ref, stored.api_version = result.ref, result.api_version
            if entered is not None:
                stored.fingerprint, stored.has_secret = new_fp, True
                stored.last_check, stored.remote = None, RemoteState.UNKNOWN

        home.update_registry(change)

    app.persist(f"Saved {result.ref}.", save)


# --------------------------------------------------------------------------- remove


def remove_selected(screen: MainScreen) -> None:
    from kutui.tui.screens.confirm import ConfirmModal

    app = screen.kapp
    key = screen.selected_key if screen.table.has_focus else None
    node = screen.node
    if key is not None:
        question = (
            f"Remove {key.ref} (key …{key.fingerprint}) from kutui?\n\n"
            "Its credentials are deleted from the vault. The key itself stays on KuCoin: "
            "delete it there too if it is no longer used."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                _remove_key(app, key)

        screen.app.push_screen(
            ConfirmModal(question, title="Remove key?", yes_label="Remove"), answered
        )
        return
    if node.is_root:
        screen.notify("Select an account, a sub-account or a key to remove.", severity="warning")
        return
    if screen.keys_of(node):
        screen.notify(
            f"{node.path} still holds keys: remove them first.", severity="warning", markup=False
        )
        return

    def answered_node(yes: bool | None) -> None:
        if yes:
            _remove_node(app, node.account, node.sub)

    screen.app.push_screen(
        ConfirmModal(
            f"Remove {node.path} from kutui? (nothing changes on KuCoin)",
            title="Remove?",
            yes_label="Remove",
        ),
        answered_node,
    )


def _remove_key(app: KutuiApp, key: ApiKey) -> None:
    vault, home, key_id = app.vault, app.home, key.id

    def save() -> None:
        from kutui.rotation.store import refuse_open_rotation

        refuse_open_rotation(home.paths.rotations_dir, [key])

        def change(reg: Registry) -> None:
            reg.keys = [k for k in reg.keys if k.id != key_id]

        home.update_registry(change)  # its history goes with it (kutui.db's delete_key)
        if vault is not None:
            vault.update(lambda data: _drop(data, key_id))

    app.persist(f"Removed {key.ref}.", save)


def _drop(data: VaultData, key_id: str) -> None:
    if key_id in data.key_ids():
        data.remove_key(key_id)


def _remove_node(app: KutuiApp, account: str, sub: str | None) -> None:
    def change(reg: Registry) -> None:
        if any(k.ref.account == account and (sub is None or k.ref.sub == sub) for k in reg.keys):
            raise UsageError(f"{account}{'/' + sub if sub else ''} holds keys now; not removed")
        if sub is None:
            reg.accounts = [a for a in reg.accounts if a.name != account]
            return
        acct = reg.account(account)
        if acct is not None:
            acct.subaccounts = [s for s in acct.subaccounts if s.name != sub]

    where = f"{account}/{sub}" if sub else account
    app.persist(f"Removed {where}.", lambda: app.home.update_registry(change))


# --------------------------------------------------------------------------- import


def import_subaccounts(screen: MainScreen) -> None:
    """``i``: what ``kutui import ACCOUNT`` does, with its progress on screen."""
    from kutui.checks.importer import choose_master_key, fetch_remote, merge_remote
    from kutui.tui.screens.import_progress import ImportOutcome, ImportScreen

    app = screen.kapp
    node = screen.node
    if node.is_root:
        screen.notify("Select an account first.", severity="warning")
        return
    account = app.registry.account(node.account)
    try:
        master = choose_master_key(app.registry, node.account, None)
    except KutuiError as exc:
        screen.notify(str(exc), severity="warning", markup=False)
        return
    cred = _credential_or_warn(app, master)
    if cred is None or account is None:
        return
    name, api_url = account.name, account.api_url

    async def run() -> AsyncIterator[ImportProgress]:
        import asyncio

        from kutui.tui.screens.import_progress import ImportProgress

        yield ImportProgress(0, None, f"Listing sub-accounts and their keys with {master.ref}…")
        listed: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        pool = app.make_pool()
        try:
            fetch = asyncio.ensure_future(
                fetch_remote(pool.get(api_url), cred, lambda d, t: listed.put_nowait((d, t)))
            )
            while not fetch.done():
                step = asyncio.ensure_future(listed.get())
                await asyncio.wait({fetch, step}, return_when=asyncio.FIRST_COMPLETED)
                if step.done():
                    done, total = step.result()
                    yield ImportProgress(done, total, f"listed the keys of {done}/{total}")
                else:
                    step.cancel()
            subs, keys = fetch.result()
        finally:
            await pool.aclose()
        now = app.now()
        report = await asyncio.to_thread(
            app.home.update_registry, lambda reg: merge_remote(reg, name, subs, keys, now)
        )
        total = len(subs)
        yield ImportProgress(total, total, report.summary())
        for ref in report.keys_added:
            yield ImportProgress(total, total, f"added {ref} (no secret yet: u on it adds one)")
        for ref in report.subs_missing + report.keys_missing:
            yield ImportProgress(total, total, f"gone from KuCoin: {ref}", "warning")

    def finished(outcome: ImportOutcome | None) -> None:
        app.load_registry()
        if outcome is not None and outcome.state == "failed":
            app.notify(outcome.error or "import failed", severity="error", markup=False)

    screen.app.push_screen(ImportScreen(run, title=f"Import from KuCoin: {name}"), finished)


def describe_error(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, KutuiError) else f"{type(exc).__name__}: {exc}"
