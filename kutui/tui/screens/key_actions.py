"""The main screen's actions on keys and accounts: notes, reveal/copy, add/edit/remove, import.

Each action checks what the screen shows (a key selected, the vault unlocked), opens its modal,
then hands the answer to a use case of ``kutui.ops`` through ``KutuiApp.run_op`` (a thread
worker; the app shows the outcome and reads the home again). Secrets go straight from the form's
``Secret`` fields into the use case; nothing here keeps them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from textual.screen import Screen

from kutui.errors import KutuiError
from kutui.model import ApiKey, KeyRef, PermissionNote, Registry
from kutui.ops import accounts, imports, keys, notes
from kutui.ops.change import Change

if TYPE_CHECKING:
    from kutui.model import Credential
    from kutui.tui.app import KutuiApp
    from kutui.tui.screens.forms import (
        AccountFormResult,
        EnteredCredentials,
        KeyFormResult,
        SubAccountFormResult,
    )
    from kutui.tui.screens.import_progress import ImportProgress
    from kutui.tui.widgets.account_tree import NodeRef
    from kutui.tui.widgets.keys_table import KeysTable


def _entered(credentials: EnteredCredentials) -> keys.Entered:
    return keys.Entered(credentials.api_key, credentials.api_secret, credentials.passphrase)


def _accounts_map(registry: Registry) -> dict[str, list[str]]:
    return {a.name: [s.name for s in a.subaccounts] for a in registry.accounts}


class KeyActions(Screen[None]):
    """Mixed into ``MainScreen``: the actions bound to n, e, v, y/Y/P, a, A, u, d and i."""

    #: The node selected in the tree (``MainScreen`` keeps it).
    node: NodeRef

    @property
    def selected_key(self) -> ApiKey | None:  # pragma: no cover - MainScreen's
        raise NotImplementedError

    @property
    def table(self) -> KeysTable:  # pragma: no cover - MainScreen's
        raise NotImplementedError

    @property
    def kapp(self) -> KutuiApp:
        return cast("KutuiApp", self.app)

    def _key_or_warn(self) -> ApiKey | None:
        key = self.selected_key
        if key is None:
            self.notify("Select a key in the table first (l, then j/k).", severity="warning")
        return key

    def _credential_or_warn(self, key: ApiKey) -> Credential | None:
        app = self.kapp
        if app.vault is None:
            app.notify("Unlock the vault first (ctrl+l).", severity="warning")
            return None
        cred = app.vault.data.get(key.id)
        if cred is None:
            bad = app.vault.data.problem(key.id)
            text = (
                f"The stored credentials of {key.ref} (key id {key.id}) cannot be used: "
                f"{bad.why}. Remove the key (d) and add it again."
                if bad is not None
                else f"No credentials are stored for {key.ref}."
            )
            app.notify(text, severity="warning", markup=False)
        return cred

    def _vault_or_warn(self) -> bool:
        if self.kapp.vault is None:
            self.kapp.notify("Unlock the vault first (ctrl+l).", severity="warning")
            return False
        return True

    # ------------------------------------------------------------------ notes

    def _save_note(self, key: ApiKey, note: PermissionNote) -> None:
        app, key_id = self.kapp, key.id
        key.note = note  # shown at once; the home is read again after the save
        app.run_op(lambda: notes.save_note(app.home, key_id, note))

    def action_note(self) -> None:
        from kutui.tui.screens.notes import NotesEditor

        key = self._key_or_warn()
        if key is None:
            return

        def done(note: PermissionNote | None) -> None:
            if note is not None:
                self._save_note(key, note)

        self.app.push_screen(NotesEditor(key.note, title=f"Permission note: {key.ref}"), done)

    def action_edit_note(self) -> None:
        from textual.app import SuspendNotSupported

        from kutui.tui.editor import EditorError, edit_text_in_editor

        key = self._key_or_warn()
        if key is None:
            return
        try:
            text = edit_text_in_editor(self.app, key.note.text)
        except (EditorError, SuspendNotSupported) as exc:
            self.notify(
                str(exc) or "This terminal cannot hand over to an editor.",
                severity="error",
                markup=False,
            )
            return
        if text != key.note.text:
            self._save_note(
                key, PermissionNote(text, key.note.expected_permissions, key.note.consumers)
            )

    # ------------------------------------------------------------------ consumers

    def action_consumers(self) -> None:
        """The selected key's consumers (command palette): add or remove one."""
        from kutui.tui.screens.consumers import ConsumersScreen

        key = self._key_or_warn()
        if key is None:
            return
        app = self.kapp
        self.app.push_screen(ConsumersScreen(app.home, key), lambda _: app.load_registry())

    # ------------------------------------------------------------------ reveal / copy

    def action_reveal(self) -> None:
        from kutui.tui.screens.reveal import RevealScreen

        key = self._key_or_warn()
        cred = self._credential_or_warn(key) if key else None
        if key is None or cred is None:
            return
        self.app.push_screen(
            RevealScreen(
                f"Credentials of {key.ref}",
                api_key=cred.api_key,
                api_secret=cred.api_secret,
                passphrase=cred.passphrase,
                reveal_now=True,
            )
        )

    def action_copy(self, what: str) -> None:
        """``what``: "api_key" (at once), "api_secret" or "passphrase" (after a confirm)."""
        key = self._key_or_warn()
        cred = self._credential_or_warn(key) if key else None
        if key is None or cred is None:
            return
        clipboard = self.kapp.clipboard_guard
        if what == "api_key":
            clipboard.copy_api_key(cred.api_key, label=str(key.ref))
        elif what == "api_secret":
            clipboard.copy_with_confirm(cred.api_secret, what="API secret", label=str(key.ref))
        else:
            clipboard.copy_with_confirm(cred.passphrase, what="API passphrase", label=str(key.ref))

    # ------------------------------------------------------------------ add

    def action_add(self) -> None:
        from kutui.tui.screens.forms import KeyForm

        app = self.kapp
        if not self._vault_or_warn():
            return
        node = self.node
        start = KeyRef(node.account, node.sub or "", "") if not node.is_root else None
        form = KeyForm(
            ref=start,
            accounts=_accounts_map(app.registry),
            existing_refs=[k.ref for k in app.registry.keys],
            title="Add key",
        )
        self.app.push_screen(form, self._save_new_key)

    def _save_new_key(self, result: KeyFormResult | None) -> None:
        app, vault = self.kapp, self.kapp.vault
        if result is None or result.credentials is None or vault is None:
            return
        entered, now = _entered(result.credentials), app.now()

        def add() -> Change:
            change = keys.add_key(
                app.home, vault, result.ref, entered, api_version=result.api_version, now=now
            )
            if app.main is not None and change.key_ids:
                # Read by the reload that follows this change: the new key is selected.
                app.main.select_after_reload = change.key_ids[0]
            return change

        app.run_op(add)

    def action_add_node(self) -> None:
        from kutui.tui.screens.forms import AccountForm, SubAccountForm

        app = self.kapp
        node = self.node
        if node.is_root:
            form = AccountForm(
                existing_names=[a.name for a in app.registry.accounts],
                default_api_url=app.config.kucoin.api_url,
            )
            self.app.push_screen(form, lambda result: self._save_account(result, None))
            return
        account = app.registry.account(node.account)
        names = [s.name for s in account.subaccounts] if account else []
        self.app.push_screen(
            SubAccountForm(node.account, existing_names=names),
            lambda result: self._save_sub(result, ""),
        )

    def _save_account(self, result: AccountFormResult | None, old: str | None) -> None:
        if result is None:
            return
        home = self.kapp.home
        if old is None:
            self.kapp.run_op(lambda: accounts.add_account(home, result.name, result.api_url))
        else:
            self.kapp.run_op(lambda: accounts.edit_account(home, old, result.name, result.api_url))

    def _save_sub(self, result: SubAccountFormResult | None, old: str) -> None:
        if result is None:
            return
        home = self.kapp.home
        if old:
            self.kapp.run_op(
                lambda: accounts.rename_subaccount(home, result.account, old, result.name)
            )
        else:
            self.kapp.run_op(lambda: accounts.add_subaccount(home, result.account, result.name))

    # ------------------------------------------------------------------ edit

    def action_edit(self) -> None:
        from kutui.tui.screens.forms import AccountForm, AccountFormResult, KeyForm, SubAccountForm

        app = self.kapp
        key = self.selected_key if self.table.has_focus else None
        node = self.node
        if key is not None:
            if not self._vault_or_warn():
                return
            form = KeyForm(
                ref=key.ref,
                accounts=_accounts_map(app.registry),
                existing_refs=[k.ref for k in app.registry.keys],
                api_version=key.api_version,
                require_credentials=False,
                title=f"Edit key {key.ref}",
            )
            self.app.push_screen(form, lambda result: self._save_key_edit(key, result))
        elif node.is_root:
            self.notify("Select an account, a sub-account or a key to edit.", severity="warning")
        elif node.sub:
            account = app.registry.account(node.account)
            names = [s.name for s in account.subaccounts] if account else []
            self.app.push_screen(
                SubAccountForm(node.account, initial=node.sub, existing_names=names),
                lambda result: self._save_sub(result, node.sub or ""),
            )
        else:
            account = app.registry.account(node.account)
            if account is None:
                return
            self.app.push_screen(
                AccountForm(
                    initial=AccountFormResult(account.name, account.api_url),
                    existing_names=[a.name for a in app.registry.accounts],
                ),
                lambda result: self._save_account(result, account.name),
            )

    def _save_key_edit(self, key: ApiKey, result: KeyFormResult | None) -> None:
        app, vault = self.kapp, self.kapp.vault
        if result is None or vault is None:
            return
        entered = _entered(result.credentials) if result.credentials else None
        now, key_id = app.now(), key.id
        app.run_op(
            lambda: keys.edit_key(
                app.home,
                vault,
                key_id,
                ref=result.ref,
                api_version=result.api_version,
                entered=entered,
                now=now,
            )
        )

    # ------------------------------------------------------------------ remove

    def action_remove(self) -> None:
        from kutui.tui.screens.confirm import ConfirmModal

        app = self.kapp
        key = self.selected_key if self.table.has_focus else None
        node = self.node
        if key is not None:
            question = (
                f"Remove {key.ref} (key …{key.fingerprint}) from kutui?\n\n"
                "Its credentials are deleted from the vault. The key itself stays on KuCoin: "
                "delete it there too if it is no longer used."
            )
            key_id = key.id

            def answered(yes: bool | None) -> None:
                if yes:
                    vault = app.vault
                    app.run_op(lambda: keys.remove_key(app.home, key_id, vault))

            self.app.push_screen(
                ConfirmModal(question, title="Remove key?", yes_label="Remove"), answered
            )
            return
        if node.is_root:
            self.notify("Select an account, a sub-account or a key to remove.", severity="warning")
            return
        account, sub = node.account, node.sub or ""
        try:
            accounts.refuse_removal(app.registry, account, sub)
        except KutuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return

        def answered_node(yes: bool | None) -> None:
            if yes:
                app.run_op(lambda: accounts.remove_owner(app.home, account, sub, agreed=[]))

        self.app.push_screen(
            ConfirmModal(
                f"Remove {node.path} from kutui? (nothing changes on KuCoin)",
                title="Remove?",
                yes_label="Remove",
            ),
            answered_node,
        )

    # ------------------------------------------------------------------ import

    def action_import_subs(self) -> None:
        """``i``: what ``kutui import ACCOUNT`` does, with its progress on screen."""
        from kutui.tui.screens.import_progress import ImportOutcome, ImportScreen

        app = self.kapp
        node = self.node
        if node.is_root:
            self.notify("Select an account first.", severity="warning")
            return
        try:
            src = imports.source(app.registry, node.account)
        except KutuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        cred = self._credential_or_warn(src.master)
        if cred is None:
            return
        master_ref = src.master.ref

        async def run() -> AsyncIterator[ImportProgress]:
            import asyncio

            from kutui.tui.screens.import_progress import ImportProgress

            yield ImportProgress(0, None, f"Listing sub-accounts and their keys with {master_ref}…")
            listed: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
            pool = app.make_pool()
            try:
                fetch = asyncio.ensure_future(
                    imports.fetch(pool, src, cred, lambda d, t: listed.put_nowait((d, t)))
                )
                while not fetch.done():
                    step = asyncio.ensure_future(listed.get())
                    await asyncio.wait({fetch, step}, return_when=asyncio.FIRST_COMPLETED)
                    if step.done():
                        done, total = step.result()
                        yield ImportProgress(done, total, f"listed the keys of {done}/{total}")
                    else:
                        step.cancel()
                subs, found = fetch.result()
            finally:
                await pool.aclose()
            report = await asyncio.to_thread(imports.merge, app.home, src, subs, found, app.now())
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

        self.app.push_screen(
            ImportScreen(run, title=f"Import from KuCoin: {src.account}"), finished
        )
