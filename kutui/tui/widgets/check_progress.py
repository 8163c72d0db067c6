"""The progress line of a running check: a bar plus counts (done/total, ok, failing)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class CheckProgress(Horizontal):
    """Hidden until a check starts (the ``-running`` class shows it)."""

    def compose(self) -> ComposeResult:
        yield Label("Checking", id="check-title")
        yield ProgressBar(total=1, show_eta=False, id="check-bar")
        yield Label("", id="check-counts")

    def start(self, total: int, what: str) -> None:
        self.query_one("#check-title", Label).update(f"Checking {what} ")
        bar = self.query_one("#check-bar", ProgressBar)
        bar.update(total=max(total, 1), progress=0)
        self.query_one("#check-counts", Label).update(f" 0/{total}  (escape cancels)")
        self.add_class("-running")

    def advance(self, done: int, total: int, ok: int, failing: int) -> None:
        self.query_one("#check-bar", ProgressBar).update(total=max(total, 1), progress=done)
        counts = self.query_one("#check-counts", Label)
        text = f" {done}/{total}  ok {ok}  failing {failing}  (escape cancels)"
        # The screen is laid out again (a redraw of all of it, which a key press pending
        # waits for) only when the counts' width changes, not on every batch of results.
        counts.update(text, layout=len(text) != len(str(counts.content)))

    def finish(self) -> None:
        self.remove_class("-running")
