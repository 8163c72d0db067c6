"""The overview shown with the root selected: counts by status and key ages against the policy."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Digits, Label, ProgressBar, Sparkline, Static

from kutui.model import ApiKey
from kutui.tui.widgets.account_tree import status_counts
from kutui.tui.widgets.status_badge import badge

#: How many of the oldest keys get an age bar (widgets per key would not scale to 10,000).
AGE_BARS = 12
DAY = timedelta(days=1)


def counts_text(keys: Sequence[ApiKey], colors: Mapping[str, str]) -> Text:
    counts = status_counts(list(keys))
    text = Text(end="")
    for status in sorted(counts, key=lambda s: (-s.severity, s.value)):
        text.append(f"{counts[status]:>6}  ")
        text.append_text(badge(status, colors))
        text.append("\n")
    text.rstrip()
    return text


def age_histogram(ages_in_days: Iterable[int], max_days: int) -> list[float]:
    """Keys per tenth of the rotation policy (the last bucket holds everything past it)."""
    buckets = [0.0] * 11
    span = max(max_days, 1)
    for days in ages_in_days:
        buckets[min(int(days * 10 / span), 10)] += 1
    return buckets


def getting_started(vault_exists: bool) -> Text:
    """What an empty screen says: a first run must not look like a broken one."""
    text = Text(end="")
    if not vault_exists:
        text.append("No kutui home here yet.\n\n", style="bold")
        text.append(
            "Quit (q) and run `kutui init` to create the encrypted vault and config, then start "
            "kutui again. To look around first, `kutui demo` opens this screen on fake keys.\n"
            "`kutui locate` prints where kutui looks (KUTUI_HOME or --home choose another place)."
        )
        return text
    text.append("No keys yet.\n\n", style="bold")
    text.append(
        "A adds an account (KuCoin's API URL and a name), a adds a key under the selected "
        "account or sub-account, i imports an account's sub-accounts and keys through its "
        "master key. ? lists every key."
    )
    return text


class Overview(VerticalScroll):
    DEFAULT_CSS = """
    Overview #overview-empty { display: none; padding: 1 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        #: The age rows, (row, name, bar, days): composed hidden, shown and updated in place.
        self._bars: list[tuple[Horizontal, Label, ProgressBar, Label]] = []
        #: What was shown last (``_inputs``) and until when its ages in days hold: selecting
        #: the root again redrew the same overview of 10,000 keys (bench/yardstick.py).
        self._shown: tuple[object, datetime] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="overview-empty")
        with Horizontal(id="overview-top"):
            with Vertical(id="overview-total"):
                yield Label("Keys")
                yield Digits("0", id="overview-digits")
            yield Static(id="overview-counts")
        yield Label("Key age across the rotation policy (left: new, right: past the limit)")
        yield Sparkline([0.0], id="overview-sparkline")
        yield Label(id="overview-bars-title")
        # Every row is composed now, hidden: mounting them on the first show (a dozen rows of
        # several widgets) laid the screen out again a few times before its first paint.
        self._bars = []
        with Vertical(id="overview-bars"):
            for _ in range(AGE_BARS):
                name = Label(classes="age-label")
                bar = ProgressBar(total=1, show_eta=False, show_percentage=False)
                days = Label(classes="age-days")
                row = Horizontal(name, bar, days, classes="age-row")
                row.display = False
                self._bars.append((row, name, bar, days))
                yield row

    def show(
        self,
        keys: Sequence[ApiKey],
        *,
        now: datetime,
        max_days: int,
        colors: Mapping[str, str],
    ) -> None:
        inputs = _inputs(keys, max_days, colors)
        if self._shown is not None and keys:
            shown, until = self._shown
            if now < until and shown == inputs:
                return
        self._shown = None
        home = getattr(self.app, "home", None)
        # Each child shown or hidden, not a class on the overview: a class change restyles all
        # its widgets, twice on the first screen (empty before the registry is read).
        for child in self.children:
            child.display = (child.id == "overview-empty") == (not keys)
        if not keys:
            exists = bool(home.vault_exists()) if home is not None else True
            self.query_one("#overview-empty", Static).update(getting_started(exists))
        self.query_one("#overview-digits", Digits).update(str(len(keys)))
        self.query_one("#overview-counts", Static).update(counts_text(keys, colors))
        dated: list[tuple[ApiKey, int]] = []
        soonest = DAY  # until a key's age in days changes
        for key in keys:
            age = key.age(now)
            if age is not None:
                dated.append((key, age.days))
                soonest = min(soonest, DAY - (age - timedelta(days=age.days)))
        sparkline = self.query_one("#overview-sparkline", Sparkline)
        sparkline.data = age_histogram((days for _key, days in dated), max_days)
        # As sorted()[:AGE_BARS], without sorting 10,000 keys.
        oldest = heapq.nsmallest(AGE_BARS, dated, key=lambda p: (-p[1], str(p[0].ref)))
        title = f"Oldest keys, age against the {max_days}-day policy"
        if len(keys) > len(oldest):
            title += f" ({len(oldest)} of {len(keys)})"
        self.query_one("#overview-bars-title", Label).update(title)
        for n, (row, name_label, bar, days_label) in enumerate(self._bars):
            row.display = n < len(oldest)
            if n < len(oldest):
                key, days = oldest[n]
                name_label.update(Text(f"{str(key.ref)[:28]:<28} ", end=""))
                bar.update(total=max_days, progress=min(days, max_days))
                days_label.update(_days_text(days, max_days))
        self._shown = (inputs, now + soonest)


def _inputs(keys: Sequence[ApiKey], max_days: int, colors: Mapping[str, str]) -> object:
    """What the overview depends on besides the time: each key (a reload makes new ones), its
    last result (a check replaces it) and its dates. Held, not ids: an id can be reused."""
    return (
        max_days,
        dict(colors),
        [(key, key.last_check, key.created_at, key.added_at) for key in keys],
    )


def _days_text(days: int, max_days: int) -> str:
    return f" {days}d{' OVER' if days > max_days else ''}"
