"""KutuiApp: the app-level jobs: the state (``kutui.tui.state``), themes, keymap, unlock and
lock, the idle lock, the terminal watch, saving check results, quitting, crash output.

The main screen draws the state and handles its own actions (``kutui/tui/screens/main.py``).
Everything that can block (reading the home, opening the vault, a use case of ``kutui.ops``,
saving results) runs in a thread worker that posts a typed message (``kutui.tui.messages``) when
it is done; the handlers below update the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.message import Message
from textual.screen import Screen
from textual.theme import Theme

from kutui.clock import Clock, current
from kutui.errors import KutuiError, UnlockError
from kutui.model import NOT_DEFINITE, ApiKey, CheckResult, Consumer, Registry
from kutui.ops import checks as check_ops
from kutui.ops.change import Change
from kutui.ops.checks import Checker
from kutui.redact import redact
from kutui.rotation.checklist import Checklist
from kutui.store.config import Config
from kutui.store.history import History, HistoryEntry
from kutui.tui import crash, heap
from kutui.tui.commands import KutuiCommands
from kutui.tui.key_order import KeyHandled, KeyOrder
from kutui.tui.keymap import known_binding_ids, usable
from kutui.tui.messages import Changed, JobFailed, RegistryLoaded, ResultsSaved, VaultOpened
from kutui.tui.screens.main import CHECK_GROUP, MainScreen
from kutui.tui.state import TuiState
from kutui.tui.themes import (
    KUTUI_VARIABLE_DEFAULTS,
    choose_theme,
    load_themes,
    problems_message,
)

if TYPE_CHECKING:
    import httpx

    from kutui.kucoin.client import ClientPool
    from kutui.store.home import Home
    from kutui.store.vault import Vault
    from kutui.tui.clipboard import SecretClipboard

#: How often (seconds) the app checks that its terminal is still there (dolphie#101).
TTY_POLL_SECONDS = 5.0
#: How often (seconds) queued check results are written to kutui.db.
SAVE_EVERY = 2.0

T = TypeVar("T")


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or replaced stream: the terminal is gone
        return False


class KutuiApp(App[int]):
    TITLE = "kutui"
    SUB_TITLE = "KuCoin API keys"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    ENABLE_COMMAND_PALETTE = True
    # Only kutui's own: Textual's system commands repeated Quit, Screenshot and Theme.
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {KutuiCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit kutui"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Keys and what they do"),
        # priority: a modal screen (revealed credentials, a form) would otherwise swallow it.
        Binding(
            "ctrl+l", "lock", "Lock", id="app.lock", tooltip="Lock the vault now", priority=True
        ),
        Binding("f2", "pick_theme", "Theme", id="app.theme", tooltip="Choose a theme"),
        Binding(
            "f9",
            "save_svg",
            "Screenshot",
            show=False,
            id="app.screenshot",
            tooltip="Save an SVG screenshot",
            priority=True,  # also while a form or dialog is open (modals hide app bindings)
        ),
    ]

    def __init__(
        self,
        home: Home,
        *,
        vault: Vault | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        checker: Checker | None = None,
        clock: Clock | None = None,
        unlock_hint: str = "",
        watch_tty: bool = True,
        screenshot_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.home = home
        #: Where F9 saves screenshots: the directory kutui was started from, where the user
        #: looks (the demo's home is a temporary directory, deleted on exit).
        self.screenshot_dir = screenshot_dir if screenshot_dir is not None else Path.cwd()
        self.config: Config = home.config
        self.state = TuiState(vault=vault)
        self.transport = transport
        self._checker = checker
        #: The one clock (kutui/clock.py): ages, results, rotations and the simulator agree.
        self.clock = clock or current()
        self.unlock_hint = unlock_hint
        #: The vault path the unlock screen shows (tests pin it for stable snapshots).
        self.vault_label = str(home.paths.vault)
        self.watch_tty = watch_tty
        self._saving = False
        self._save_cost = 0.0
        self._force_pending = False
        self._saved_at = 0.0
        self._clipboard_guard: SecretClipboard | None = None
        self.theme_colors: dict[str, str] = self._colors(KUTUI_VARIABLE_DEFAULTS)
        self._theme_ready = False
        self._saved_theme = ""
        self._last_input = 0.0
        self.key_order = KeyOrder(self, super().on_event)
        self.problems: list[str] = []
        self.animation_level = "full" if self.config.ui.animations else "none"
        # Before the app runs: a theme chosen in on_mount parsed the CSS again and restyled
        # every widget of the screens just built (bench/yardstick.py).
        self._setup_themes()

    # ------------------------------------------------------------------ state

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def vault(self) -> Vault | None:
        return self.state.vault

    @vault.setter
    def vault(self, vault: Vault | None) -> None:
        self.state.vault = vault

    @property
    def registry(self) -> Registry:
        return self.state.registry

    @property
    def history(self) -> History:
        return self.state.history

    @property
    def consumers(self) -> dict[str, list[Consumer]]:
        return self.state.consumers

    @property
    def rotations(self) -> dict[str, list[Checklist]]:
        return self.state.rotations

    @property
    def registry_loaded(self) -> bool:
        return self.state.loaded

    def key_by_id(self, key_id: str) -> ApiKey | None:
        return self.state.key_by_id(key_id)

    def history_of(self, key_id: str) -> list[HistoryEntry]:
        """The key's recent results for its detail; those on screen alone if kutui.db cannot be
        read now (the next load shows the error)."""
        try:
            return self.state.history_of(key_id, self.home.history)
        except KutuiError:
            return self.history.get(key_id, [])

    def record_result(self, key_id: str, result: CheckResult) -> None:
        """Queue a result for the next save (and the key's history on screen)."""
        self.state.record(key_id, result)

    @property
    def main(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def _redraw(self) -> None:
        main = self.main
        # Not once quitting: a load that lands then would query widgets already taken down.
        quitting = self._exit or (main is not None and main._closing)  # noqa: SLF001
        if main is not None and main.ready and not quitting:
            main.reload()

    @property
    def checker(self) -> Checker | None:
        """The check engine tests give the app; None: ``kutui.checks.runner.run_checks``."""
        return self._checker

    def make_pool(self) -> ClientPool:
        from kutui.kucoin.client import ClientPool

        return ClientPool(
            transport=self.transport,
            timeout=self.config.checks.timeout_seconds,
            clock=self.clock.ms,
        )

    # ------------------------------------------------------------------ start-up

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(KUTUI_VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        # First: the read runs in a thread while the screens are built (bench/yardstick.py).
        self.load_registry()
        self._setup_keymap()
        if self.problems:
            self.notify(
                "\n".join(self.problems), title="kutui", severity="error", timeout=15, markup=False
            )
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if not self.home.vault_exists():
            self.notify(
                f"No vault at {self.home.paths.vault} yet: run `kutui init` to create one "
                "(or `kutui demo` to try kutui with fake keys).",
                severity="warning",
                timeout=15,
                markup=False,
            )
        elif self.vault is None:
            self.run_job(self._open_vault_quietly, VaultOpened, title="open-vault", group="unlock")
        if self.watch_tty and not self.is_headless and _stdin_is_tty():
            self.set_interval(TTY_POLL_SECONDS, self._check_terminal, name="tty-watch")
        self.set_interval(SAVE_EVERY, self.save_results_soon, name="save-results")
        minutes = self.config.ui.idle_lock_minutes
        if minutes > 0:
            self._last_input = self._clock_seconds()
            self.set_interval(30, lambda: self._maybe_idle_lock(minutes * 60.0))

    def _setup_themes(self) -> None:
        user_dir = (
            Path(self.config.ui.theme_dir).expanduser()
            if self.config.ui.theme_dir
            else self.home.paths.themes_dir
        )
        themes, failed = load_themes([user_dir])
        for theme in themes:
            self.register_theme(theme)
        if failed:
            self.problems.append(problems_message(failed))
        try:
            remembered = self.home.state().theme
        except KutuiError as exc:
            self.problems.append(str(exc))
            remembered = ""
        name, problem = choose_theme(self.available_themes, remembered or self.config.ui.theme)
        if problem:
            self.problems.append(problem)
        self.theme = name
        self._saved_theme = self.theme
        self._theme_ready = True
        # Textual announces this theme before on_mount subscribes to changes: colors taken now.
        self.theme_colors = self._colors(self.get_css_variables())

    def _setup_keymap(self) -> None:
        wanted = self.config.keymap
        # Knowing every binding id imports every screen (0.2 s of the first screen without
        # cached bytecode, bench/yardstick.py); an empty [keymap] has no id to check.
        keymap, problem = usable(wanted, known_binding_ids(type(self)) if wanted else set())
        if problem:
            self.problems.append(problem)
        self.set_keymap(keymap)

    def _theme_changed(self, theme: Theme) -> None:
        colors = self._colors({**KUTUI_VARIABLE_DEFAULTS, **self.theme_variables})
        if colors != self.theme_colors:  # a reload of 10,000 keys for nothing otherwise
            self.theme_colors = colors
            self._redraw()
        if self._theme_ready and theme.name != self._saved_theme:
            from kutui.ops.settings import remember_theme

            name = self._saved_theme = theme.name
            home = self.home
            self.run_job(lambda: remember_theme(home, name), _Quiet, title="save-theme")

    def _colors(self, variables: dict[str, str]) -> dict[str, str]:
        from kutui.tui.widgets.status_badge import MONOCHROME

        return {**variables, MONOCHROME: "yes"} if self.no_color else dict(variables)

    def _open_vault_quietly(self) -> Vault | None:
        """Keyring or credentials-file unlock without asking; None when a passphrase is needed."""
        try:
            return self.home.open_vault()
        except UnlockError:
            return None

    def load_registry(self) -> None:
        # Imported on the main thread: in the reading thread it waited on the imports the
        # screens make meanwhile, and the first screen waited 0.3 s longer (bench/yardstick.py).
        from kutui.ops.rotations import rotations_by_key

        home = self.home

        def load() -> RegistryLoaded:
            # 10,000 keys read while Textual builds the screens set off full collections that
            # walk both (kutui/tui/heap.py); the main screen holds them on until it is drawn.
            heap.hold_full_passes()
            try:
                registry = home.registry()
                # The lists need results only of keys whose last check said nothing of them;
                # a key's detail reads the rest when shown (TuiState.history_of).
                outage = (k.id for k in registry.keys if k.status in NOT_DEFINITE)
                return RegistryLoaded(
                    registry, home.last_definite(outage), rotations_by_key(home), home.consumers()
                )
            finally:
                heap.release_full_passes(exempt=False)

        self.run_job(load, lambda loaded: loaded, title="load-registry", group="load")

    def run_job(
        self,
        job: Callable[[], T],
        done: Callable[[T], Message],
        *,
        title: str,
        group: str = "default",
        reload: bool = False,
    ) -> None:
        """Run ``job`` in a thread; post ``done(result)``, or ``JobFailed`` (then reload the
        home if ``reload``). The one way the app's blocking work reports back."""

        def work() -> None:
            try:
                result = job()
            except Exception as exc:  # noqa: BLE001 - every failure becomes one shown line
                self.post_message(JobFailed(title, describe_error(exc), reload))
                return
            self.post_message(done(result))

        self.run_worker(work, thread=True, name=title, group=group, exit_on_error=False)

    def run_op(self, op: Callable[[], Change]) -> None:
        """Run a use case of ``kutui.ops`` (it validates, writes, returns a ``Change``); the home
        is read again afterwards, whatever the outcome."""
        self.run_job(op, Changed, title="edit", group="edit", reload=True)

    def on_registry_loaded(self, message: RegistryLoaded) -> None:
        self.state.loaded_from(
            message.registry, message.history, message.rotations, message.consumers
        )
        self._redraw()

    def on_vault_opened(self, message: VaultOpened) -> None:
        if message.vault is None:
            self.ask_passphrase()
        else:
            self.vault = message.vault
            self._after_unlock()

    def on_changed(self, message: Changed) -> None:
        change = message.change
        for line in change.warnings:
            self.notify(line, severity="warning", markup=False)
        lines = [change.summary, *change.notices]
        self.notify(_sentence("\n".join(lines)), markup=False)
        self.load_registry()

    def on_job_failed(self, message: JobFailed) -> None:
        if message.reload:
            self.load_registry()
        self.notify(
            message.error,
            title=f"{message.title} failed",
            severity="error",
            timeout=10,
            markup=False,
        )

    def on_results_saved(self, message: ResultsSaved) -> None:
        self._saving = False
        if message.error:
            self.notify(message.error, title="save-results failed", severity="error", markup=False)
        if self._force_pending:
            self.save_results_soon(force=True)

    @property
    def clipboard_guard(self) -> SecretClipboard:
        if self._clipboard_guard is None:
            from kutui.tui.clipboard import SecretClipboard

            self._clipboard_guard = SecretClipboard(self)
        return self._clipboard_guard

    def save_results_soon(self, *, force: bool = False) -> None:
        """Write queued results in a thread; one save at a time, the rest wait for the next.

        A save is one kutui.db transaction (an fsync, docs/storage.md); saves are spaced to at
        most ~10% of the time (unless ``force``: the end of a check run).
        """
        if force:
            self._force_pending = True
        if self._saving or not self.state.unsaved:
            return
        spacing = max(SAVE_EVERY, 10 * self._save_cost)
        if not force and time.monotonic() - self._saved_at < spacing:
            return
        batch = self.state.take_unsaved()
        self._saving = True
        self._force_pending = False
        home = self.home

        def save() -> None:
            started = time.monotonic()
            error = ""
            try:
                check_ops.save_results(home, batch)
            except Exception as exc:  # noqa: BLE001 - shown; the next batch tries again
                error = describe_error(exc)
            self._save_cost = time.monotonic() - started
            self._saved_at = time.monotonic()
            self.post_message(ResultsSaved(self._save_cost, error))

        self.run_worker(save, thread=True, name="save-results", group="save", exit_on_error=False)

    # ------------------------------------------------------------------ unlock / lock

    def ask_passphrase(self) -> None:
        from kutui.tui.screens.unlock import UnlockScreen

        home = self.home
        if home.is_shared:
            self._ask_to_refetch()
            return

        def unlock(passphrase: Any) -> Vault:
            return home.open_vault(passphrase=passphrase)

        def unlocked(vault: Vault | None) -> None:
            if vault is not None:
                self.vault = vault
                self._after_unlock()

        self.push_screen(
            UnlockScreen(
                unlock, vault_path=self.vault_label, hint=self.unlock_hint, allow_cancel=False
            ),
            unlocked,
        )

    def _ask_to_refetch(self) -> None:
        """Locked on an OpenBao home: the keys are the server's, behind this host's token, so
        a passphrase prompt would guard nothing (any answer would do). Locking still drops the
        fetched keys, the clipboard and every open dialog; unlocking fetches them again."""
        from kutui.tui.screens.confirm import ConfirmModal

        store = self.config.store

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_job(self.home.open_vault, VaultOpened, title="open-vault", group="unlock")
            else:
                self.exit()

        self.push_screen(
            ConfirmModal(
                f"kutui dropped the keys it had fetched from OpenBao ({store.addr}, "
                f"{store.mount}/{store.prefix}). Fetch them again with this host's token?",
                title="Locked",
                yes_label="Fetch keys",
                no_label="Quit",
                default_yes=True,
            ),
            answered,
        )

    def _after_unlock(self) -> None:
        vault = self.vault
        if vault is not None and getattr(vault, "rollback_warning", None):
            self.notify(str(vault.rollback_warning), severity="warning", timeout=15, markup=False)
        self.load_registry()

    def action_lock(self) -> None:
        """Cancel checks, drop the decrypted data, and ask for the passphrase again."""
        from kutui.tui.screens.unlock import UnlockScreen

        if isinstance(self.screen, UnlockScreen):
            return  # already locked
        main = self.main
        # Close every screen above the main one (their callbacks run with None): revealed
        # credentials, typed secrets or a rotation holding the old vault must not outlive it.
        while main is not None and self.screen is not main and len(self.screen_stack) > 1:
            self.screen.dismiss(None)
        if main is not None:
            main.workers.cancel_group(main, CHECK_GROUP)
        if self._clipboard_guard is not None:
            self._clipboard_guard.clear(announce=False)
        self.state.lock()
        if self.home.vault_exists():
            self.ask_passphrase()
        else:
            self.notify("There is no vault to lock yet (kutui init creates one).")

    async def on_event(self, event: events.Event) -> None:
        # Every key press or click counts as activity for the idle lock, whoever handles it.
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self._last_input = self._clock_seconds()
            if isinstance(event, events.Key):
                await self.key_order.key(event)  # one at a time, in the order typed
                return
        await super().on_event(event)

    def on_key_handled(self, message: KeyHandled) -> None:
        self.key_order.handled(message)

    @staticmethod
    def _clock_seconds() -> float:
        return time.monotonic()

    def _maybe_idle_lock(self, limit: float) -> None:
        if self.vault is None:
            return
        if self._clock_seconds() - getattr(self, "_last_input", 0.0) >= limit:
            self.action_lock()
            self.notify("Locked after inactivity.", severity="information")

    # ------------------------------------------------------------------ other actions

    async def action_quit(self) -> None:
        """Write any results not saved yet, then leave."""
        main = self.main
        if main is not None:
            main.workers.cancel_group(main, CHECK_GROUP)
        pending = [
            w
            for w in self.workers
            if w.group in (CHECK_GROUP, "save", "edit") and not w.is_finished
        ]
        if pending:
            # Never hang on the way out: a stuck worker gets a few seconds, then is left.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.workers.wait_for_complete(pending), 10)
        if self.state.unsaved:
            batch = self.state.take_unsaved()
            try:
                await asyncio.to_thread(check_ops.save_results, self.home, batch)
            except KutuiError as exc:
                self.notify(str(exc), severity="error", markup=False)
        self.exit(0)

    def action_help(self) -> None:
        try:
            from kutui.tui.screens.help import HelpScreen
        except ImportError:
            self.action_show_help_panel()
            return
        self.push_screen(HelpScreen())

    def action_pick_theme(self) -> None:
        from kutui.tui.commands import pick_theme

        pick_theme(self)

    def action_set_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name

    def action_save_svg(self) -> None:
        from kutui.store.files import write_new_private

        stem = f"kutui-{self.now():%Y%m%d-%H%M%S}"
        svg = self.export_screenshot().encode()
        try:
            # 0600: a screenshot may show key labels, notes, fingerprints (README.md, "Files").
            path = write_new_private(self.screenshot_dir, stem, ".svg", svg)
        except OSError as exc:
            self.notify(
                f"Screenshot not saved: {self.screenshot_dir}: {exc.strerror or exc}",
                severity="error",
                markup=False,
            )
            return
        self.notify(f"Screenshot saved to {path.resolve()}", markup=False)

    def _check_terminal(self) -> None:
        if not _stdin_is_tty():
            self.exit(return_code=1, message="kutui: the terminal went away; exiting.")

    # ------------------------------------------------------------------ crash hygiene

    def _handle_exception(self, error: Exception) -> None:
        # Never defer to an exception's own __rich__ (Textual's panic path): always render the
        # traceback below, without locals.
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self._fatal_error()

    def _fatal_error(self) -> None:
        crash.fatal_error(self)


class _Quiet(Message):
    """A job whose success needs no word (the theme remembered)."""

    def __init__(self, _result: object) -> None:
        super().__init__()


def describe_error(exc: BaseException) -> str:
    """One line for a failed job: a kutui error's own words, else its type too; redacted."""
    text = str(exc) if isinstance(exc, KutuiError) else f"{type(exc).__name__}: {exc}"
    return redact(text)


def _sentence(text: str) -> str:
    """A use case's lowercase summary as a toast ("Stored main/bot1 (…).")."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
