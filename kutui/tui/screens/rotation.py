"""RotationScreen: the rotation checklist of one key, step by step, resumable.

Left: every step with its status and time. Right: the current step's instructions, its evidence or
failure, and its actions: run (automatic steps), mark done (manual steps; ticks the next consumer),
skip with a reason, abort. On the master flow's create step, three password inputs take the new
credentials.

Letters act only where they cannot be mistaken for typing: ``x`` and ``d`` work while the steps
table (or the detail pane) has focus, never on a button. Skip and abort have no letter at all:
they are buttons that open a dialog showing the reason before it is stored, and whatever step
would delete the old key on KuCoin asks first (README.md, "Rotating a key").
 KuCoin calls and vault writes run in a worker; the checklist is saved after every
transition, so closing the screen (or losing the SSH link) resumes here next time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Static

from kutui.errors import KutuiError
from kutui.ops import rotations
from kutui.rotation import session as rs
from kutui.rotation.checklist import Checklist, Flow, Step, StepKind, StepStatus
from kutui.rotation.engine import ManualInput
from kutui.rotation.store import RotationStore
from kutui.rotation.sub_flow import wants_old_passphrase
from kutui.tui.screens.forms import SecretInput

if TYPE_CHECKING:
    from kutui.kucoin.client import ClientPool
    from kutui.model import Credential
    from kutui.store.home import Home
    from kutui.store.vault import Vault

MARKS: dict[StepStatus, tuple[str, str]] = {
    StepStatus.PENDING: ("·", "dim"),
    StepStatus.RUNNING: ("▶", "bold yellow"),
    StepStatus.DONE: ("✓", "green"),
    StepStatus.SKIPPED: ("–", "cyan"),
    StepStatus.FAILED: ("✗", "bold red"),
}


class RotationScreen(Screen[None]):
    """``RotationScreen(home, vault, key_id, pool)``: start or resume ``key_id``'s rotation."""

    DEFAULT_CSS = """
    RotationScreen #rot-title { height: auto; padding: 0 1; text-style: bold; background: $panel; }
    RotationScreen #rot-broken { height: auto; padding: 0 1; color: $warning; display: none; }
    RotationScreen #rot-broken.-shown { display: block; }
    RotationScreen #rot-body { height: 1fr; }
    RotationScreen #rot-steps { width: 56; max-width: 45%; height: 100%; }
    RotationScreen #rot-detail { width: 1fr; height: 100%; padding: 0 1; }
    RotationScreen #rot-step-title { text-style: bold; padding: 1 0 0 0; }
    RotationScreen #rot-instructions { padding: 1 0 0 0; }
    RotationScreen #rot-evidence { padding: 1 0 0 0; color: $success; }
    RotationScreen #rot-note { padding: 1 0 0 0; color: $warning; }
    RotationScreen #rot-credentials { height: auto; display: none; padding: 1 0 0 0; }
    RotationScreen #rot-credentials.-shown { display: block; }
    RotationScreen #rot-old-passphrase { display: none; margin: 1 0 0 0; }
    RotationScreen #rot-old-passphrase.-shown { display: block; }
    RotationScreen #rot-ips, RotationScreen #rot-ips-label { display: none; }
    RotationScreen #rot-ips.-shown, RotationScreen #rot-ips-label.-shown { display: block; }
    RotationScreen #rot-ips-label { padding: 1 0 0 0; text-style: bold; }
    RotationScreen #rot-actions { height: auto; padding: 1 0 0 0; }
    RotationScreen #rot-actions Button { margin: 0 1 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "run_step", "Run", id="rotation.run"),
        Binding("d", "mark_done", "Mark done", id="rotation.done"),
        Binding("v", "reveal_pending", "Reveal new key", id="rotation.reveal_pending"),
        Binding("y", "copy_pending('api_key')", "Copy new key", id="rotation.copy_pending"),
        Binding(
            "Y",
            "copy_pending('api_secret')",
            "Copy new secret",
            id="rotation.copy_pending_secret",
            show=False,
        ),
        Binding(
            "P",
            "copy_pending('passphrase')",
            "Copy new passphrase",
            id="rotation.copy_pending_passphrase",
            show=False,
        ),
        Binding("escape", "close", "Close", id="rotation.close"),
    ]

    def __init__(
        self,
        home: Home,
        vault: Vault,
        key_id: str,
        pool: ClientPool,
        *,
        rotation_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
        verify_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
    ) -> None:
        super().__init__()
        self.home = home
        self.vault = vault
        self.key_id = key_id
        self.pool = pool
        self.rotation_id = rotation_id
        self.clock = clock
        self.verify_delays = verify_delays
        self.store = RotationStore(home.paths.rotations_dir)
        self.session: rs.Session | None = None
        self.problem = ""
        self.busy = False
        self._locks = contextlib.ExitStack()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static("Rotation", id="rot-title")
        # Shown only while the old key fails its own check and the master key stands in for it.
        yield Static("", id="rot-broken")
        with Horizontal(id="rot-body"):
            yield DataTable(id="rot-steps", cursor_type="row", zebra_stripes=False)
            with VerticalScroll(id="rot-detail"):
                yield Static("", id="rot-step-title")
                yield Static("", id="rot-instructions")
                yield Static("", id="rot-evidence")
                yield Static("", id="rot-note")
                with Vertical(id="rot-credentials"):
                    yield SecretInput(placeholder="new API key", id="rot-api-key")
                    yield SecretInput(placeholder="new API secret", id="rot-api-secret")
                    yield SecretInput(placeholder="new API passphrase", id="rot-passphrase")
                # The old key's delete refused its stored (broken) passphrase: the right one.
                yield SecretInput(
                    placeholder="API passphrase of the old key (to delete it)",
                    id="rot-old-passphrase",
                )
                yield Static("IP whitelist for the new key", id="rot-ips-label")
                yield Input(
                    placeholder="IPs separated by commas (empty: no restriction)", id="rot-ips"
                )
                with Horizontal(id="rot-actions"):
                    yield Button("Run", id="rot-run", variant="primary")
                    yield Button("Mark done", id="rot-done", variant="success")
                    yield Button("Skip", id="rot-skip")
                    yield Button("Abort", id="rot-abort", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#rot-steps", DataTable)
        table.add_columns("", "Step", "Status", "Done at")
        try:
            key = rs.find_key(self.home, self.key_id)
            self._locks.enter_context(rotations.key_lock(self.home, key.id))
            self.session = rotations.open_session(
                self.home,
                self.vault,
                self.pool,
                key.id,
                rotation_id=self.rotation_id,
                now=self.clock,
                verify_delays=self.verify_delays,
                on_save=self._saved,
            )
        except KutuiError as exc:
            self.problem = str(exc)
        self.refresh_view()

    def _saved(self, label: str) -> None:
        # Called by the engine (inside the worker, on the app's loop) after every transition.
        if self.is_mounted:
            self.refresh_view()

    def on_unmount(self) -> None:
        self._locks.close()

    # ------------------------------------------------------------------ view

    @property
    def checklist(self) -> Checklist | None:
        return self.session.checklist if self.session is not None else None

    def refresh_view(self, message: str = "") -> None:
        self.refresh_bindings()  # x and d are offered only for the step they apply to
        checklist = self.checklist
        title = self.query_one("#rot-title", Static)
        if checklist is None:
            title.update(Text("Rotation unavailable"))
            self.query_one("#rot-note", Static).update(Text(self.problem))
            self._show_actions(run=False, done=False, skip=False, abort=False)
            return
        flow = "sub-account key, through the API" if checklist.flow is Flow.SUB else "master key"
        title.update(
            Text(
                f"Rotate {checklist.key_ref} · {flow} · rotation {checklist.id} ({checklist.state})"
            )
        )
        broken = self.query_one("#rot-broken", Static)
        broken.update(Text(checklist.broken_summary))
        broken.set_class(bool(checklist.broken_summary), "-shown")
        self._fill_table(checklist)
        step = checklist.current_step()
        if step is None:
            self._show_finished(checklist)
            return
        self.query_one("#rot-step-title", Static).update(
            Text(f"{step.title} ({step.kind}, {step.status})")
        )
        self.query_one("#rot-instructions", Static).update(Text(step.instructions))
        self.query_one("#rot-evidence", Static).update(Text(self._last_evidence(checklist)))
        note = message or self._prompt(checklist, step)
        self.query_one("#rot-note", Static).update(Text(note))
        creds = checklist.flow is Flow.MASTER and step.id == "create"
        self.query_one("#rot-credentials").set_class(creds, "-shown")
        self.query_one("#rot-old-passphrase").set_class(wants_old_passphrase(checklist), "-shown")
        ips = self.query_one("#rot-ips", Input)
        # Both flows: KuCoin shows the old whitelist only masked (10.**.3), so the user gives it.
        ips_shown = step.id == "plan"
        if ips_shown and not ips.has_class("-shown"):
            ips.value = checklist.ip_whitelist
        ips.set_class(ips_shown, "-shown")
        self.query_one("#rot-ips-label").set_class(ips_shown, "-shown")
        # An automatic step waiting for a confirmation (delete the old key, drop permissions)
        # is confirmed like a manual step.
        manual = step.kind is StepKind.MANUAL or checklist.awaiting == step.id
        self._show_actions(
            run=not manual,
            done=manual,
            skip=self.session is not None and step.id in self.session.skippable,
            abort=True,
        )

    def _fill_table(self, checklist: Checklist) -> None:
        table = self.query_one("#rot-steps", DataTable)
        table.clear()
        for index, step in enumerate(checklist.steps, start=1):
            mark, style = MARKS[step.status]
            current = step.id == checklist.current
            name = Text(f"{index}. {step.title}", style="bold" if current else "")
            when = step.done_at.strftime("%H:%M:%S") if step.done_at else ""
            table.add_row(Text(mark, style=style), name, Text(str(step.status), style=style), when)
        if checklist.current:
            row = [s.id for s in checklist.steps].index(checklist.current)
            table.move_cursor(row=row)

    def _last_evidence(self, checklist: Checklist) -> str:
        lines = [f"✓ {s.title}: {s.evidence}" for s in checklist.steps if s.evidence][-3:]
        return "\n".join(lines)

    def _prompt(self, checklist: Checklist, step: Step) -> str:
        if self.busy:
            return "Working…"
        if step.status is StepStatus.FAILED:
            return f"✗ {step.note}"
        if checklist.awaiting == step.id and step.note:
            return f"{step.note}\nMark done (d) confirms."
        if step.id == "switch-consumers" and checklist.consumers:
            results = self._delivery_results(checklist)
            ticks = [
                f"[{'x' if c in checklist.consumers_switched else ' '}] {c}{results.get(c, '')}"
                for c in checklist.consumers
            ]
            left = [c for c in checklist.consumers if c not in checklist.consumers_switched]
            hint = f"Mark done (d) ticks {left[0]}." if left else ""
            return "\n".join([*ticks, hint])
        if step.note:
            return step.note
        if step.kind is StepKind.MANUAL:
            return "Mark done (d) when this is done."
        return "Run (x) to carry out this step."

    def _delivery_results(self, checklist: Checklist) -> dict[str, str]:
        """Each consumer's kind and last delivery, as a suffix for its tick line."""
        try:
            records = self.home.consumers(checklist.key_id)
        except KutuiError:
            return {}
        out: dict[str, str] = {}
        for record in records:
            last = record.last_delivery
            state = f": {last.status} …{last.fingerprint}" if last is not None else ""
            out[record.name] = f" ({record.kind}{state})"
        return out

    def _show_finished(self, checklist: Checklist) -> None:
        self.query_one("#rot-step-title", Static).update(Text(f"Rotation {checklist.state}"))
        self.query_one("#rot-instructions", Static).update(
            Text(
                f"{checklist.key_ref} now uses the key …{checklist.new_fingerprint}."
                if checklist.state == "finished"
                else f"Aborted: {checklist.abort_reason}"
            )
        )
        self.query_one("#rot-evidence", Static).update(Text(self._last_evidence(checklist)))
        self.query_one("#rot-note", Static).update(Text("Escape closes this screen."))
        self.query_one("#rot-credentials").set_class(False, "-shown")
        self.query_one("#rot-old-passphrase").set_class(False, "-shown")
        self.query_one("#rot-ips").set_class(False, "-shown")
        self.query_one("#rot-ips-label").set_class(False, "-shown")
        self._show_actions(run=False, done=False, skip=False, abort=False)

    def _show_actions(self, *, run: bool, done: bool, skip: bool, abort: bool) -> None:
        for button_id, shown in (
            ("#rot-run", run),
            ("#rot-done", done),
            ("#rot-skip", skip),
            ("#rot-abort", abort),
        ):
            button = self.query_one(button_id, Button)
            button.display = shown
            button.disabled = self.busy

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A letter typed while a button has focus is typing gone astray (a passphrase meant for
        # a field), not a command: only the steps table and the detail pane take the letters.
        if action in ("reveal_pending", "copy_pending"):
            return None if isinstance(self.focused, (Button, Input)) else True
        if action not in ("run_step", "mark_done"):
            return True
        checklist = self.checklist
        step = checklist.current_step() if checklist else None
        if step is None or checklist is None:
            return False
        manual = step.kind is StepKind.MANUAL or checklist.awaiting == step.id
        if manual != (action == "mark_done"):
            return False  # not offered in the footer at all
        return None if isinstance(self.focused, (Button, Input)) else True  # None: shown dimmed

    def action_run_step(self) -> None:
        step = self.checklist.current_step() if self.checklist else None
        if step is None or step.kind is not StepKind.AUTOMATIC or self.busy:
            return
        ips = self.query_one("#rot-ips", Input)
        session = self.session
        changed = session is not None and ips.value.strip() != session.checklist.ip_whitelist
        if session is not None and ips.has_class("-shown") and changed:
            try:
                session.set_ip_whitelist(ips.value)
            except KutuiError as exc:
                self.refresh_view(str(exc))
                return
        self._after_delete_confirm(closes_current=False, then=lambda: self._work(None))

    def action_mark_done(self) -> None:
        checklist = self.checklist
        step = checklist.current_step() if checklist else None
        if checklist is None or step is None or self.busy:
            return
        if step.kind is not StepKind.MANUAL and checklist.awaiting != step.id:
            return
        if checklist.flow is Flow.MASTER and step.id == "create":
            ids = ("rot-api-key", "rot-api-secret", "rot-passphrase")
            inputs = [self.query_one(f"#{i}", SecretInput) for i in ids]
            values = [i.take() for i in inputs]
            if not all(values):
                self.refresh_view("Enter the new API key, secret and passphrase first.")
                return
            for widget in inputs:
                widget.value = ""
            self._work(ManualInput(api_key=values[0], api_secret=values[1], passphrase=values[2]))
            return
        if wants_old_passphrase(checklist):
            field = self.query_one("#rot-old-passphrase", SecretInput)
            typed = field.take()
            field.value = ""
            # Empty: the key was deleted in KuCoin's web UI, and confirming looks again.
            answer = ManualInput(confirm=True, passphrase=typed if typed else None)
            self._after_delete_confirm(closes_current=True, then=lambda: self._work(answer))
            return
        if step.id == "switch-consumers" and checklist.consumers:
            left = [c for c in checklist.consumers if c not in checklist.consumers_switched]
            tick = ManualInput(consumer=left[0]) if left else ManualInput(confirm=True)
            self._after_delete_confirm(closes_current=len(left) <= 1, then=lambda: self._work(tick))
            return
        self._after_delete_confirm(
            closes_current=True, then=lambda: self._work(ManualInput(confirm=True))
        )

    def _pending(self) -> Credential | None:
        from kutui.model import Slot

        checklist = self.checklist
        cred = self.vault.data.get(checklist.key_id, Slot.PENDING) if checklist else None
        if cred is None or not cred.api_key:
            self.refresh_view("There is no new key to show yet (it exists after Create).")
            return None
        return cred

    def action_copy_pending(self, what: str) -> None:
        """Copy the new key's API key (at once), secret or passphrase (after a confirm), as the
        main screen's y / Y / P do for the current key."""
        cred, checklist = self._pending(), self.checklist
        clipboard = getattr(self.app, "clipboard_guard", None)
        if cred is None or checklist is None or clipboard is None:
            return
        label = f"{checklist.key_ref} (new key)"
        if what == "api_key":
            clipboard.copy_api_key(cred.api_key, label=label)
        elif what == "api_secret":
            clipboard.copy_with_confirm(cred.api_secret, what="API secret", label=label)
        else:
            clipboard.copy_with_confirm(cred.passphrase, what="API passphrase", label=label)

    def action_reveal_pending(self) -> None:
        """The new (PENDING) key, masked until r: to switch a manual consumer by hand."""
        from kutui.tui.screens.reveal import RevealScreen

        checklist = self.checklist
        cred = self._pending()
        if checklist is None or cred is None:
            return
        self.app.push_screen(
            RevealScreen(
                f"New key of {checklist.key_ref} (PENDING)",
                api_key=cred.api_key,
                api_secret=cred.api_secret,
                passphrase=cred.passphrase,
            )
        )

    def action_skip(self) -> None:
        self._ask_reason("skip")

    def action_abort(self) -> None:
        self._ask_reason("abort")

    def action_close(self) -> None:
        self.dismiss(None)

    def _deletes_old_key(self, *, closes_current: bool) -> bool:
        """Would confirming now delete the old key on KuCoin? The sub-account flow stops before
        ``revoke-old`` until it is confirmed (``Checklist.awaiting``, as ``kutui rotate`` asks);
        here that confirmation is a dialog naming the key. The master flow's ``revoke-old`` is
        the user's own act in the web UI."""
        checklist = self.checklist
        return (
            checklist is not None
            and closes_current
            and checklist.flow is Flow.SUB
            and checklist.current == "revoke-old"
            and checklist.awaiting == "revoke-old"
        )

    def _after_delete_confirm(self, *, closes_current: bool, then: Callable[[], object]) -> None:
        from kutui.tui.screens.confirm import ConfirmModal

        checklist = self.checklist
        if checklist is None or not self._deletes_old_key(closes_current=closes_current):
            then()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                then()
            else:
                self.refresh_view("Not yet: the old key stays on KuCoin and keeps working.")

        self.app.push_screen(
            ConfirmModal(
                f"Going on makes the new key current and then deletes the old key "
                f"…{checklist.old_fingerprint} of {checklist.key_ref} on KuCoin. Anything still "
                "using the old key stops working. This cannot be undone.",
                title="Delete the old key on KuCoin?",
                yes_label="Delete old key",
                no_label="Not yet",
            ),
            answered,
        )

    def _ask_reason(self, what: str) -> None:
        from kutui.tui.screens.confirm import ReasonModal

        checklist = self.checklist
        if checklist is None or not checklist.is_open or self.busy:
            return
        if what == "abort":
            undo = (
                "a new key this rotation created is deleted on KuCoin."
                if checklist.flow is Flow.SUB
                else "a new key you made in KuCoin's web UI stays there: delete it yourself."
            )
            question = (
                f"Abort the rotation of {checklist.key_ref}? The old key stays current; {undo}"
            )
            title, yes = "Abort the rotation", "Abort rotation"
        else:
            step = checklist.current_step()
            question = f"Skip “{step.title if step else ''}” without doing it?"
            title, yes = "Skip this step", "Skip step"

        def answered(reason: str | None) -> None:
            if reason:
                self._reason_given(what, reason)

        self.app.push_screen(ReasonModal(question, title=title, yes_label=yes), answered)

    def _reason_given(self, what: str, text: str) -> None:
        if self.session is None:
            return
        if what == "skip":
            try:
                self.session.skip(text)
            except KutuiError as exc:
                self.refresh_view(str(exc))
                return
            self.refresh_view()
        elif what == "abort":
            self._abort(text)

    @on(Input.Submitted, "#rot-ips")
    def _ips_given(self, event: Input.Submitted) -> None:
        # Enter after typing the whitelist runs the plan step (x would type into the field).
        event.stop()
        self.action_run_step()

    @on(SecretInput.Entered)
    def _credential_entered(self, event: SecretInput.Entered) -> None:
        # Enter moves to the next credential field; on the last one it submits them.
        event.stop()
        if event.control.id in ("rot-passphrase", "rot-old-passphrase"):
            self.action_mark_done()
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], None]] = {
            "rot-run": self.action_run_step,
            "rot-done": self.action_mark_done,
            "rot-skip": self.action_skip,
            "rot-abort": self.action_abort,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    # ------------------------------------------------------------------ workers

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.refresh_view()

    @work(exclusive=True, group="rotation")
    async def _work(self, inputs: ManualInput | None) -> None:
        session = self.session
        if session is None:
            return
        self._set_busy(True)
        message = ""
        try:
            if inputs is None:
                await session.run()
            else:
                await session.submit(inputs)
        except KutuiError as exc:
            message = str(exc)
        finally:
            self.busy = False
        self.refresh_view(message)

    @work(exclusive=True, group="rotation")
    async def _abort(self, reason: str) -> None:
        session = self.session
        if session is None:
            return
        self._set_busy(True)
        message = ""
        try:
            message = (await rotations.abort(session, reason)).summary
        except KutuiError as exc:
            message = str(exc)
        finally:
            self.busy = False
        self.refresh_view(message)
