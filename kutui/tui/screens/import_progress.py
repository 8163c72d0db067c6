"""ImportScreen: run "import sub-accounts via the master key" and show its progress.

The operation is any async iterator factory yielding ``ImportProgress`` events; the screen runs
it in an async worker, moves a ``ProgressBar`` and appends each event's message to a plain-text
log. Escape while running cancels the worker and dismisses; once finished, enter or escape
closes. The result is an ``ImportOutcome``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, ProgressBar, Static
from textual.worker import Worker, WorkerState

from kutui.errors import KutuiError
from kutui.redact import redact

WORKER_GROUP = "import-subaccounts"


@dataclass(frozen=True)
class ImportProgress:
    """One step. ``total`` may be unknown (``None``) until the list of sub-accounts arrived."""

    done: int
    total: int | None = None
    message: str = ""
    level: Literal["info", "warning", "error"] = "info"


@dataclass(frozen=True)
class ImportOutcome:
    """How the import ended: ``state`` is "done", "failed" or "cancelled"."""

    state: Literal["done", "failed", "cancelled"]
    done: int = 0
    total: int | None = None
    error: str = ""
    warnings: int = 0


ImportRun = Callable[[], AsyncIterator[ImportProgress]]


class ImportScreen(ModalScreen[ImportOutcome]):
    """``run()`` is called once, on mount; its events drive the screen."""

    DEFAULT_CSS = """
    ImportScreen {
        align: center middle;
    }
    ImportScreen > #import {
        width: 90;
        max-width: 98%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ImportScreen #import-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    ImportScreen #import-bar {
        width: 1fr;
    }
    ImportScreen #import-log {
        height: 1fr;
        border: round $panel;
    }
    ImportScreen #import-status {
        color: $text-muted;
    }
    ImportScreen.-failed #import-status {
        color: $text-error;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel_or_close", "Cancel/close", id="import.cancel"),
        Binding("enter", "close", "Close", show=False, id="import.close"),
    ]

    def __init__(self, run: ImportRun, *, title: str = "Import sub-accounts") -> None:
        super().__init__()
        self._run = run
        self._title = title
        self._done = 0
        self._total: int | None = None
        self._warnings = 0
        self._worker: Worker[None] | None = None
        self._outcome: ImportOutcome | None = None

    @property
    def outcome(self) -> ImportOutcome | None:
        """Set once the operation finished, failed or was cancelled."""
        return self._outcome

    def compose(self) -> ComposeResult:
        with Vertical(id="import"):
            yield Static(self._title, id="import-title", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="import-bar")
            yield Log(id="import-log", highlight=False)
            yield Static("Starting... (esc cancels)", id="import-status", markup=False)

    def on_mount(self) -> None:
        self._worker = self.run_worker(
            self._consume(),
            name="import-subaccounts",
            group=WORKER_GROUP,
            exclusive=True,
            exit_on_error=False,
        )

    async def _consume(self) -> None:
        bar = self.query_one(ProgressBar)
        log = self.query_one(Log)
        async for event in self._run():
            self._done, self._total = event.done, event.total
            bar.update(total=event.total, progress=event.done)
            if event.level == "warning":
                self._warnings += 1
            if event.message:
                prefix = {"info": "", "warning": "warning: ", "error": "error: "}[event.level]
                log.write_line(prefix + redact(event.message))
            of_total = f" of {event.total}" if event.total is not None else ""
            self._status(f"{event.done}{of_total} done (esc cancels)")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        event.stop()
        state = event.state
        if state is WorkerState.SUCCESS:
            self._finish(ImportOutcome("done", self._done, self._total, warnings=self._warnings))
            # Not "N imported": done counts what was processed, known items included.
            of_total = f" of {self._total}" if self._total is not None else ""
            self._status(f"Finished: {self._done}{of_total} done. enter or esc closes.")
        elif state is WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, KutuiError):
                text = str(error)
            else:
                text = f"{type(error).__name__}: {redact(str(error))}"
            self.add_class("-failed")
            self._finish(ImportOutcome("failed", self._done, self._total, text, self._warnings))
            self.query_one(Log).write_line("error: " + text)
            self._status("Failed (see the log). enter or esc closes.")

    def _finish(self, outcome: ImportOutcome) -> None:
        self._outcome = outcome
        if outcome.state != "cancelled" and outcome.total is None:
            bar = self.query_one(ProgressBar)
            bar.update(total=max(outcome.done, 1), progress=max(outcome.done, 1))

    def _status(self, text: str) -> None:
        self.query_one("#import-status", Static).update(text)

    def action_cancel_or_close(self) -> None:
        if self._outcome is None:
            if self._worker is not None:
                self._worker.cancel()
            self._outcome = ImportOutcome(
                "cancelled", self._done, self._total, warnings=self._warnings
            )
        self.dismiss(self._outcome)

    def action_close(self) -> None:
        if self._outcome is not None:
            self.dismiss(self._outcome)
