"""The keys table: one keyed row per key, updated in place as check results stream in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist, RowKey

from kutui.model import ApiKey
from kutui.ops import views
from kutui.ops.views import shown_status
from kutui.store.config import Config
from kutui.store.history import HistoryEntry
from kutui.tui import heap
from kutui.tui.keyfacts import KeyFacts, ago, key_facts
from kutui.tui.widgets.status_badge import badge, badge_label, tone_style

#: Rows ``KeysTable.show`` builds at once (more than a screen); the rest come in chunks.
FIRST_ROWS = 200
CHUNK_ROWS = 250

COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "Key"),
    ("status", "Status"),
    ("age", "Age"),
    ("expiry", "Expiry"),
    ("fingerprint", "Fp"),
    ("permissions", "Permissions"),
    ("ip", "IP whitelist"),
    ("checked", "Checked"),
)


def row_cells(
    key: ApiKey,
    prefix: str,
    now: datetime,
    config: Config,
    colors: Mapping[str, str],
    history: Sequence[HistoryEntry] = (),
) -> list[Text]:
    """The cells of one row. All text is ``Text`` (never markup): labels come from users."""
    facts = key_facts(key, now, config)
    status, stale = shown_status(key, history)
    status_cell = badge(status, colors)
    if stale:
        # An outage says nothing about the key: its last definite status stands, marked stale.
        status_cell.append(" stale", style=tone_style("warn", colors))
    label = str(key.ref)
    if prefix and label.startswith(prefix + "/"):
        label = label[len(prefix) + 1 :]
    warn = tone_style("warn", colors)
    bad = tone_style("bad", colors, bold=True)
    perms = Text(",".join(key.permissions_seen) or "?", end="")
    if facts.drift:
        perms.append(" ≠DRIFT", style=warn)
    known = key.last_check is not None and bool(key.permissions_seen)
    ip = Text(key.ip_whitelist_seen or ("none" if known else "?"), end="")
    if facts.unbound:
        ip.append(" !UNBOUND", style=bad)
    age = Text(_age_text(facts), end="")
    if facts.too_old:
        age.append(" OLD", style=warn)
    return [
        Text(label, end=""),
        status_cell,
        age,
        _expiry_text(key, facts, now, colors),
        Text(key.fingerprint or "????", end=""),
        perms,
        ip,
        Text(ago(key.last_check.checked_at if key.last_check else None, now), end=""),
    ]


def _age_text(facts: KeyFacts) -> str:
    return "?" if facts.age_days is None else f"{facts.age_days}d"


def _expiry_text(key: ApiKey, facts: KeyFacts, now: datetime, colors: Mapping[str, str]) -> Text:
    expires = key.expires_at()
    if expires is None:
        return Text("never", end="")
    if facts.expired:
        return Text("EXPIRED", style=tone_style("bad", colors, bold=True), end="")
    text = Text(f"{expires:%Y-%m-%d}", end="")
    if facts.expiring:
        text.append(f" SOON ({max((expires - now).days, 0)}d)", style=tone_style("warn", colors))
    return text


def measure_width(cell: Text) -> int:
    """The widest line of a cell (a cell is one line; this is for one that is not)."""
    return max(cell_len(line) for line in cell.plain.split("\n"))


class KeysTable(DataTable[Text]):
    """DataTable of the selected node's keys, rows keyed by key id; vim keys j/k/g/G."""

    BINDING_GROUP_TITLE = "Keys table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next key"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous key"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top", tooltip="First key"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom", tooltip="Last key"),
    ]

    #: What the table's order is: a column of ``views.SORT_COLUMNS`` (None: as stored), and
    #: whether reversed; whether only failing keys are shown. Shown in the column headers.
    sort_column: str | None = None
    sort_reverse: bool = False
    failing_only: bool = False

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.prefix = ""
        self.shown_ids: list[str] = []
        self._pending: list[ApiKey] = []
        self._filled = 0
        self._fill_generation = 0
        self._row_args: tuple[datetime, Config, Mapping[str, str]] | None = None
        self._history: Mapping[str, Sequence[HistoryEntry]] = {}
        self._keep_cursor = True

    def on_mount(self) -> None:
        self._add_columns()

    async def _on_idle(self, event: events.Idle) -> None:
        # DataTable measures new rows when idle but keeps lines it drew before that (cached
        # under the same update count): the header drawn right after show() stayed squeezed
        # to the titles' widths over full-width rows. A new count makes every line redraw.
        measuring = self._require_update_dimensions
        await super()._on_idle(event)
        if measuring:
            self._update_count += 1
            self.refresh()

    def _add_columns(self) -> None:
        for key, title in COLUMNS:
            self.add_column(self.header_title(key, title), key=key)

    def header_title(self, column: str, title: str) -> str:
        """A column's title with the sort (▲ ascending, ▼ reversed) and "failing only" marks."""
        if column == "status" and self.failing_only:
            title += " (failing)"
        if column == self.sort_column:
            title += " ▼" if self.sort_reverse else " ▲"
        return title

    def show(
        self,
        keys: Sequence[ApiKey],
        *,
        prefix: str,
        query: str,
        now: datetime,
        config: Config,
        colors: Mapping[str, str],
        history: Mapping[str, Sequence[HistoryEntry]] | None = None,
    ) -> None:
        """Show the ``keys`` that match ``query`` (and "failing only"), in the table's sort
        order, keeping the cursor on the same key. ``history``: results per key id, for the
        status an outage leaves standing (kutui/ops/views.py).

        The first ``FIRST_ROWS`` rows (and any up to the cursor's key) are built at once; the
        rest follow, once the screen has drawn, in chunks of ``CHUNK_ROWS``, each its own turn of
        the event loop, so a node of 10,000 keys shows its first screen at once and key presses
        are answered meanwhile (``filling`` is True until the last chunk is in)."""
        previous = self.selected_key_id if self._keep_cursor else None
        self._keep_cursor = True
        self.prefix = prefix
        self._history = history = history if history is not None else {}
        parsed = views.parse_query(query, failing_only=self.failing_only)
        shown = (
            list(keys)
            if parsed.matches_all
            else [
                k
                for k in keys
                if views.matches(k, parsed, history.get(k.id, ()), badge_label(k.status))
            ]
        )
        shown = views.sort_keys(
            shown,
            self.sort_column,
            reverse=self.sort_reverse,
            history=lambda key_id: history.get(key_id, ()),
        )
        # Columns too: their widths only ever grow, so a narrow node would keep wide columns.
        self.clear(columns=True)
        self._add_columns()
        self.shown_ids = [k.id for k in shown]
        self._pending = shown
        self._filled = 0
        self._fill_generation += 1
        self._row_args = (now, config, colors)
        target = self.shown_ids.index(previous) if previous in self.shown_ids else -1
        self._add_rows(max(FIRST_ROWS, target + 1))
        if target >= 0:
            self.move_cursor(row=target, animate=False)
        if self.filling:
            # The first chunk waits for the screen to show these rows: each chunk changes the
            # table's size, so every one let in before the first paint made the screen lay out
            # and draw again before anything was shown (bench/yardstick.py).
            generation = self._fill_generation
            self.call_after_refresh(lambda: self._fill_soon(generation))
        elif len(shown) > FIRST_ROWS:
            heap.settle()

    @property
    def filling(self) -> bool:
        """Rows of the last ``show`` are still being added."""
        return self._filled < len(self._pending)

    def _fill_soon(self, generation: int) -> None:
        # A timer, not call_later: the widget's queue hands over queued messages without
        # yielding, so chained call_laters would run every chunk before a key press is seen.
        self.set_timer(0.001, lambda: self._fill_more(generation), name="keys-table-fill")

    def _fill_more(self, generation: int) -> None:
        if generation != self._fill_generation or not self.filling:
            return  # a newer show() started over
        self._add_rows(CHUNK_ROWS)
        if self._filled < len(self._pending):  # not self.filling: mypy keeps it narrowed
            self._fill_soon(generation)
        else:
            heap.settle()

    def _add_rows(self, count: int) -> None:
        """Add the next ``count`` pending rows, widening columns to fit them.

        Widths are measured here, as ``update_key`` does, from each cell's length (all cells are
        one-line ``Text``): DataTable would otherwise measure every new cell again when idle,
        which at 10,000 rows holds the event loop for most of a second."""
        batch = self._pending[self._filled : self._filled + count]
        if not batch or self._row_args is None:
            return
        self._filled += len(batch)
        now, config, colors = self._row_args
        specs = [self.columns[ColumnKey(column)] for column, _title in COLUMNS]
        added: list[RowKey] = []
        for key in batch:
            cells = row_cells(key, self.prefix, now, config, colors, self._history.get(key.id, ()))
            added.append(self.add_row(*cells, key=key.id))
            for spec, cell in zip(specs, cells, strict=True):
                width = cell.cell_len if "\n" not in cell.plain else measure_width(cell)
                if width > spec.content_width:
                    spec.content_width = width
        self._new_rows.difference_update(added)  # measured above
        # The virtual size now, not when idle: the first layout after show() then has the
        # table's real size, instead of a second layout and redraw of the whole screen.
        self._update_dimensions(())

    def update_key(
        self, key: ApiKey, now: datetime, config: Config, colors: Mapping[str, str]
    ) -> bool:
        """Rewrite one key's row in place; False when the key is not shown."""
        try:
            self.get_row_index(key.id)
        except RowDoesNotExist:
            return False
        widened = False
        for (column, _title), cell in zip(
            COLUMNS,
            row_cells(key, self.prefix, now, config, colors, self._history.get(key.id, ())),
            strict=True,
        ):
            # Widen a column whose new cell no longer fits. DataTable's own update_width
            # re-measures the whole column whenever a cell got narrower (10,000 cells per
            # update), so the width is kept here: it only ever grows while rows update.
            spec = self.columns[ColumnKey(column)]
            if cell.cell_len > spec.content_width:
                spec.content_width = cell.cell_len
                widened = True
            try:
                self.update_cell(key.id, column, cell)
            except CellDoesNotExist:
                return False
        if widened:
            self._require_update_dimensions = True  # recompute the virtual width when idle
        return True

    def start_at_top(self) -> None:
        """Make the next ``show`` put the cursor on its first row instead of the same key: after
        a new sort that key may be row 9,000 of 10,000, and keeping it would build every row
        up to it at once instead of one screen."""
        self._keep_cursor = False

    def move_to(self, index: int) -> None:
        """Put the cursor on the ``index``-th shown key, adding its row first if still pending."""
        if index >= self._filled:
            self._add_rows(index + 1 - self._filled)
        self.move_cursor(row=index, animate=False)

    def next_failing(self, step: int) -> bool:
        """Move to the next (``step`` 1) or previous (-1) failing key, going round; False if
        no shown key is failing."""
        if not self._pending:
            return False
        history = self._history
        index = views.next_failing(
            self._pending,
            self.cursor_row if self.row_count else -1,
            step=step,
            history=lambda key_id: history.get(key_id, ()),
        )
        if index is None:
            return False
        self.move_to(index)
        return True

    @property
    def selected_key_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value
