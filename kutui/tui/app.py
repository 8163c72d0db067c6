"""KutuiApp: themes, keymap, unlock, the registry in memory, checks plumbing and crash hygiene.

The app owns the state (home, registry, vault, per-key history) and the plumbing (client pool,
checks engine, batched saving); the main screen draws it. Everything that can block (reading the
registry, opening the vault, saving) runs in thread workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual import events, on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from kutui.clock import Clock, current
from kutui.errors import KutuiError, UnlockError
from kutui.model import ApiKey, CheckResult, Registry
from kutui.redact import redact
from kutui.rotation.checklist import Checklist
from kutui.rotation.store import RotationStore
from kutui.store.config import Config
from kutui.store.history import History, HistoryEntry
from kutui.tui.commands import KutuiCommands
from kutui.tui.screens.main import CHECK_GROUP, MainScreen
from kutui.tui.themes import (
    DEFAULT_THEME,
    KUTUI_VARIABLE_DEFAULTS,
    load_themes,
    problems_message,
)

if TYPE_CHECKING:
    import httpx

    from kutui.checks.runner import CheckEvent, CheckTarget
    from kutui.kucoin.client import ClientPool
    from kutui.store.home import Home
    from kutui.store.vault import Vault
    from kutui.tui.clipboard import SecretClipboard

#: How often (seconds) the app checks that its terminal is still there (dolphie#101).
TTY_POLL_SECONDS = 5.0
#: How often (seconds) queued check results are written to kutui.db.
SAVE_EVERY = 2.0
HISTORY_LENGTH = 20


class Checker(Protocol):
    def __call__(
        self,
        targets: Sequence[CheckTarget],
        *,
        pool: ClientPool,
        concurrency: int = ...,
        timeout: float = ...,
        retries: int = ...,
        max_rate_wait: float = ...,
        clock: Clock | None = ...,
    ) -> AsyncIterator[CheckEvent]: ...


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
        self.vault = vault
        self.transport = transport
        self._checker = checker
        #: The one clock (kutui/clock.py): ages, results, rotations and the simulator agree.
        self.clock = clock or current()
        self.unlock_hint = unlock_hint
        #: The vault path the unlock screen shows (tests pin it for stable snapshots).
        self.vault_label = str(home.paths.vault)
        self.watch_tty = watch_tty
        self.registry = Registry()
        self._by_id: dict[str, ApiKey] = {}
        self.history: History = {}
        self.rotations: dict[str, list[Checklist]] = {}  # key id -> its rotations, oldest first
        #: Every result not yet in kutui.db, in order: two runs before one save are two entries.
        self._unsaved: list[tuple[str, CheckResult]] = []
        self._saving = False
        self._save_cost = 0.0
        self._force_pending = False
        self._saved_at = 0.0
        self.registry_loaded = False
        self._clipboard_guard: SecretClipboard | None = None
        self.theme_colors: dict[str, str] = self._colors(KUTUI_VARIABLE_DEFAULTS)
        self._theme_ready = False
        self._saved_theme = ""
        self._last_input = 0.0
        self.problems: list[str] = []
        self.animation_level = "full" if self.config.ui.animations else "none"

    # ------------------------------------------------------------------ state

    def now(self) -> datetime:
        return self.clock.now()

    def key_by_id(self, key_id: str) -> ApiKey | None:
        return self._by_id.get(key_id)

    def set_registry(self, registry: Registry) -> None:
        self.registry = registry
        self._by_id = {k.id: k for k in registry.keys}
        self.registry_loaded = True
        main = self.main
        if main is not None and main.ready:
            main.reload()

    @property
    def main(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def record_result(self, key_id: str, result: CheckResult) -> None:
        history = self.history.setdefault(key_id, [])
        history.append(HistoryEntry.of(result))
        del history[:-HISTORY_LENGTH]
        self._unsaved.append((key_id, result))

    @property
    def checker(self) -> Checker:
        if self._checker is None:
            from kutui.checks.runner import run_checks

            self._checker = run_checks
        return self._checker

    def make_pool(self) -> ClientPool:
        from kutui.kucoin.client import ClientPool

        return ClientPool(
            transport=self.transport,
            timeout=self.config.checks.timeout_seconds,
            clock=self.clock.ms,
        )

    def check_targets(self, keys: Sequence[ApiKey]) -> list[CheckTarget] | None:
        """Targets with their credentials; None (and a notice) while the vault is locked."""
        from kutui.checks.runner import CheckTarget

        if self.vault is None:
            self.notify("Unlock the vault first (ctrl+l, or restart kutui).", severity="warning")
            return None
        data = self.vault.data
        accounts = {a.name: a for a in self.registry.accounts}
        targets = []
        for key in keys:
            account = accounts.get(key.ref.account)
            api_url = account.api_url if account else self.config.kucoin.api_url
            targets.append(
                CheckTarget(
                    key_id=key.id,
                    ref=key.ref,
                    api_url=api_url,
                    credential=data.get(key.id),
                    pool_hint=key.ref.owner,
                )
            )
        return targets

    # ------------------------------------------------------------------ start-up

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(KUTUI_VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self._setup_themes()
        self._setup_keymap()
        if self.problems:
            self.notify(
                "\n".join(self.problems), title="kutui", severity="error", timeout=15, markup=False
            )
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.load_registry()
        if not self.home.vault_exists():
            self.notify(
                f"No vault at {self.home.paths.vault} yet: run `kutui init` to create one "
                "(or `kutui demo` to try kutui with fake keys).",
                severity="warning",
                timeout=15,
                markup=False,
            )
        elif self.vault is None:
            self.run_worker(
                self._open_vault_quietly,
                thread=True,
                name="open-vault",
                group="unlock",
                exit_on_error=False,
            )
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
        wanted = remembered or self.config.ui.theme
        self._apply_theme(wanted)
        self._saved_theme = self.theme
        self._theme_ready = True

    def _apply_theme(self, wanted: str) -> None:
        if wanted in self.available_themes:
            self.theme = wanted
            return
        self.problems.append(
            f"Theme {wanted!r} is not known; using {DEFAULT_THEME}. "
            f"Known themes: {', '.join(sorted(self.available_themes))}"
        )
        self.theme = DEFAULT_THEME

    def _setup_keymap(self) -> None:
        keymap = dict(self.config.keymap)
        unknown = sorted(set(keymap) - known_binding_ids())
        if unknown:
            self.problems.append(
                "Unknown binding id(s) in [keymap] of config.toml: "
                + ", ".join(unknown)
                + " (see the help screen, ? or F1, for the ids)"
            )
        self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})

    def _theme_changed(self, theme: Theme) -> None:
        self.theme_colors = self._colors({**KUTUI_VARIABLE_DEFAULTS, **self.theme_variables})
        if self.main is not None and self.main.ready:
            self.main.reload()
        if self._theme_ready and theme.name != self._saved_theme:
            name = self._saved_theme = theme.name
            self.run_worker(
                lambda: self._remember_theme(name),
                thread=True,
                name="save-theme",
                group="state",
                exit_on_error=False,
            )

    def _colors(self, variables: dict[str, str]) -> dict[str, str]:
        from kutui.tui.widgets.status_badge import MONOCHROME

        return {**variables, MONOCHROME: "yes"} if self.no_color else dict(variables)

    def _remember_theme(self, name: str) -> None:
        def update(state: Any) -> None:
            state.theme = name

        self.home.update_state(update)

    def _open_vault_quietly(self) -> Vault | None:
        """Keyring or credentials-file unlock without asking; None when a passphrase is needed."""
        try:
            return self.home.open_vault()
        except UnlockError:
            return None

    def load_registry(self) -> None:
        home = self.home

        def load() -> tuple[Registry, History, dict[str, list[Checklist]]]:
            return home.registry(), home.histories(), _rotations_by_key(home)

        self.run_worker(load, thread=True, name="load-registry", group="load", exit_on_error=False)

    def persist(self, message: str, save: Callable[[], object]) -> None:
        """Run a registry/vault change in a thread; ``message`` is shown when it succeeded."""
        self.run_worker(
            save, thread=True, name="edit", group="edit", description=message, exit_on_error=False
        )

    @property
    def clipboard_guard(self) -> SecretClipboard:
        if self._clipboard_guard is None:
            from kutui.tui.clipboard import SecretClipboard

            self._clipboard_guard = SecretClipboard(self)
        return self._clipboard_guard

    # ------------------------------------------------------------------ workers

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes are handled (harlequin's pattern)."""
        worker = event.worker
        if worker.node is not self and not isinstance(worker.node, MainScreen):
            return  # modal screens handle their own workers (unlock, import, rotation)
        if event.state is WorkerState.SUCCESS:
            if worker.name == "load-registry" and isinstance(worker.result, tuple):
                registry, history, rotations = worker.result
                self.history = history
                self.rotations = rotations
                self.set_registry(registry)
            elif worker.name == "open-vault":
                if worker.result is None:
                    self.ask_passphrase()
                else:
                    self.vault = worker.result
                    self._after_unlock()
            elif worker.name == "save-results":
                self._saving = False
                if self._force_pending:
                    self.save_results_soon(force=True)
            elif worker.name == "edit":
                self.notify(worker.description, markup=False)
                self.load_registry()
        elif event.state is WorkerState.ERROR:
            error = worker.error
            if worker.name == "save-results":
                self._saving = False
            if worker.name == "edit":
                self.load_registry()
            if worker.name == "open-vault" and isinstance(error, UnlockError):
                self.ask_passphrase()
                return
            message = (
                str(error)
                if isinstance(error, KutuiError)
                else (f"{type(error).__name__}: {error}")
            )
            self.notify(
                redact(message),
                title=f"{worker.name or 'task'} failed",
                severity="error",
                timeout=10,
                markup=False,
            )

    def save_results_soon(self, *, force: bool = False) -> None:
        """Write queued results in a thread; one save at a time, the rest wait for the next.

        A save is one kutui.db transaction (an fsync, docs/storage.md); saves are spaced to at
        most ~10% of the time (unless ``force``: the end of a check run).
        """
        if force:
            self._force_pending = True
        if self._saving or not self._unsaved:
            return
        spacing = max(SAVE_EVERY, 10 * self._save_cost)
        if not force and time.monotonic() - self._saved_at < spacing:
            return
        batch, self._unsaved = self._unsaved, []
        self._saving = True
        self._force_pending = False
        home = self.home

        def save() -> None:
            started = time.monotonic()
            home.record_results(batch)
            self._save_cost = time.monotonic() - started
            self._saved_at = time.monotonic()

        self.run_worker(save, thread=True, name="save-results", group="save", exit_on_error=False)

    # ------------------------------------------------------------------ unlock / lock

    def ask_passphrase(self) -> None:
        from kutui.tui.screens.unlock import UnlockScreen

        home = self.home

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
        if self.vault is not None:
            self.vault.close()
            self.vault = None
        if self.home.vault_exists():
            self.ask_passphrase()
        else:
            self.notify("There is no vault to lock yet (kutui init creates one).")

    async def on_event(self, event: events.Event) -> None:
        # Every key press or click counts as activity for the idle lock, whoever handles it.
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self._last_input = self._clock_seconds()
        await super().on_event(event)

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
        if self._unsaved:
            batch, self._unsaved = self._unsaved, []
            home = self.home

            try:
                await asyncio.to_thread(home.record_results, batch)
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
        """Textual's crash output shows locals (docs/security.md, "Process hygiene"); ours shows
        none, redacted."""
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        exc_type, exc_value, tb = sys.exc_info()
        if exc_value is None and self._exception is not None:
            exc_value = self._exception
            exc_type, tb = type(exc_value), exc_value.__traceback__
        if exc_type is None or exc_value is None:
            self._close_messages_no_wait()
            return
        trace = Traceback.extract(exc_type, exc_value, tb, show_locals=False)
        for stack in trace.stacks:
            stack.exc_value = redact(stack.exc_value)
            for frame in stack.frames:
                frame.locals = None
        traceback = Traceback(trace, width=None, show_locals=False)
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()


def known_binding_ids() -> set[str]:
    """Every binding id a user may rebind in ``[keymap]``."""
    from kutui.tui.widgets.account_tree import AccountTree
    from kutui.tui.widgets.keys_table import KeysTable

    classes: list[type[Any]] = [KutuiApp, MainScreen, KeysTable, AccountTree]
    classes.extend(_optional_screen_classes())
    ids: set[str] = set()
    for cls in classes:
        for binding in getattr(cls, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def _optional_screen_classes() -> Iterable[type[Any]]:
    import importlib

    names = {
        "confirm": "ConfirmModal",
        "unlock": "UnlockScreen",
        "notes": "NotesEditor",
        "reveal": "RevealScreen",
        "help": "HelpScreen",
        "rotation": "RotationScreen",
        "error": "ErrorModal",
    }
    for module, name in names.items():
        try:
            mod = importlib.import_module(f"kutui.tui.screens.{module}")
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if isinstance(cls, type):
            yield cls


def _rotations_by_key(home: Home) -> dict[str, list[Checklist]]:
    """Every readable rotation checklist, grouped by key (a damaged file is skipped here: the
    rotation screen and ``kutui rotate`` report it where it matters)."""
    store = RotationStore(home.paths.rotations_dir)
    grouped: dict[str, list[Checklist]] = {}
    directory = home.paths.rotations_dir
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
        try:
            checklist = store.load_path(path)
        except KutuiError:
            continue
        grouped.setdefault(checklist.key_id, []).append(checklist)
    return grouped
