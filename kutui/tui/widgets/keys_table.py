"""The keys table: one keyed row per key, updated in place as check results stream in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, Row, RowKey

from kutui.model import ApiKey
from kutui.ops import views
from kutui.ops.views import shown_status
from kutui.store.config import Config
from kutui.store.history import HistoryEntry
from kutui.tui import heap
from kutui.tui.keyfacts import KeyFacts, ago, key_facts
from kutui.tui.widgets.scrollbars import scrollbars_now
from kutui.tui.widgets.status_badge import badge, badge_label, tone_style

#: Rows ``KeysTable.show`` builds at once (more than a screen); the rest come in chunks.
FIRST_ROWS = 200
CHUNK_ROWS = 250
#: Seconds after which a fill starts even if the screen never reported its refresh.
FILL_FALLBACK_S = 1.0

COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "Key"),
    ("status", "Status"),
    ("age", "Age"),
    ("expiry", "Expiry"),
    ("fingerprint", "Fp"),
    ("permissions", "Perm"),
    ("ip", "IP"),
    ("checked", "Checked"),
)

#: When the table is narrower than its content, these columns give up width, in this order,
#: down to these widths (never below their titles'); a cut cell shows "…" where it was cut
#: (a ref keeps its end: the key's own label). The others (status above all) keep their
#: width. The full values are in the detail pane.
SHRINK: tuple[tuple[str, int], ...] = (
    ("label", 12),
    ("ip", 8),
    ("permissions", 4),
)

#: One letter per permission in the Perm column (the help screen lists them): the full names,
#: "General,Spot,Futures", took a third of the table at 120 columns. A name KuCoin adds later
#: is shown in full.
PERMISSION_CODES: dict[str, str] = {
    "General": "G",
    "Spot": "S",
    "Margin": "M",
    "Futures": "F",
    "Earn": "E",
    "InnerTransfer": "I",
    "Transfer": "T",
    "Withdrawal": "W",
    "FlexTransfers": "X",
    "LeadtradeFutures": "L",
}


def permission_codes(permissions: Sequence[str]) -> str:
    """``("General", "Spot")`` -> ``"GS"``; "?" when none was seen."""
    return "".join(PERMISSION_CODES.get(p) or f"[{p}]" for p in permissions) or "?"


def fit_widths(natural: Mapping[str, int], budget: int) -> dict[str, int]:
    """Column content widths for ``budget`` cells (padding excluded): ``natural`` (the widest
    cell or title of each column) where they fit, else the ``SHRINK`` columns cut in order.
    A budget of 0 or less (not laid out yet) cuts nothing."""
    widths = dict(natural)
    excess = sum(widths.values()) - budget
    if budget <= 0:
        return widths
    titles = dict(COLUMNS)
    for column, least in SHRINK:
        if excess <= 0:
            break
        floor = max(least, cell_len(titles[column]))
        cut = min(excess, widths[column] - floor)
        if cut > 0:
            widths[column] -= cut
            excess -= cut
    return widths


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
    # An outage says nothing about the key: its last definite status stands, marked stale.
    status_cell = badge(status, colors, stale=stale)
    label = str(key.ref)
    if prefix and label.startswith(prefix + "/"):
        label = label[len(prefix) + 1 :]
    warn = tone_style("warn", colors)
    bad = tone_style("bad", colors, bold=True)
    perms = Text(permission_codes(key.permissions_seen), end="", overflow="ellipsis")
    if facts.drift:
        perms.append(" ≠DRIFT", style=warn)
    known = key.last_check is not None and bool(key.permissions_seen)
    ip = Text(key.ip_whitelist_seen or ("none" if known else "?"), end="", overflow="ellipsis")
    if facts.unbound:
        ip.append(" !UNBOUND", style=bad)
    age = Text(_age_text(facts), end="")
    if facts.too_old:
        age.append(" OLD", style=warn)
    return [
        TailText(label, end=""),
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
    if facts.expiring:
        # The days left, not the date (the detail pane has it): "2026-11-30 SOON (5d)" was the
        # widest cell of the table.
        days = max((expires - now).days, 0)
        return Text(f"SOON ({days}d)", style=tone_style("warn", colors), end="")
    return Text(f"{expires:%Y-%m-%d}", end="")


class TailText(Text):
    """A key's ref in the Key column: cut from the left ("…ot-spot/grid-1") when the column is
    narrower, as the end is what tells keys of one sub-account apart."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[Segment]:
        width = options.max_width
        if self.cell_len <= width or width < 2:
            yield from super().__rich_console__(console, options)
            return
        tail = self[len(self.plain) - (width - 1) :]
        while tail.cell_len > width - 1:  # wide characters: drop one more
            tail = tail[1:]
        cut = Text("…", end="")
        cut.append_text(tail)
        yield from cut.__rich_console__(console, options)


def measure_width(cell: Text) -> int:
    """The widest line of a cell (a cell is one line; this is for one that is not)."""
    return max(cell_len(line) for line in cell.plain.split("\n"))


def _key_id(row_key: RowKey | str) -> str:
    return (row_key.value or "") if isinstance(row_key, RowKey) else row_key


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
        #: Keys whose row is out of sight and not rewritten yet, with the (now, config, colors)
        #: of their last update: written when they come into view or are read.
        self._stale: dict[str, tuple[ApiKey, datetime, Config, Mapping[str, str]]] = {}
        #: Bumps of ``_update_count`` that only rewrote cells: the row order and heights, and so
        #: ``ordered_rows`` and ``_y_offsets``, are kept across them (see ``_layout_version``).
        #: Set before DataTable's __init__, which reads ``_y_offsets``.
        self._content_bumps = 0
        self._layout: tuple[tuple[int, int], list[Row], list[tuple[RowKey, int]]] | None = None
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.prefix = ""
        self.shown_ids: list[str] = []
        self._pending: list[ApiKey] = []
        self._filled = 0
        self._fill_generation = 0
        self._fill_started = 0  # the generation whose fill has begun
        self._row_args: tuple[datetime, Config, Mapping[str, str]] | None = None
        self._history: Mapping[str, Sequence[HistoryEntry]] = {}
        self._keep_cursor = True
        #: Each column's widest cell or title; the widths drawn are these cut to fit the
        #: table's width (``fit_widths``), again whenever the table is resized.
        self._natural: dict[str, int] = {}

    def on_mount(self) -> None:
        self._add_columns()

    def on_resize(self, _event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        padding = 2 * self.cell_padding * len(COLUMNS)
        widths = fit_widths(self._natural, self.scrollable_content_region.width - padding)
        for column, width in widths.items():
            spec = self.columns.get(ColumnKey(column))
            if spec is not None and spec.content_width != width:
                spec.content_width = width
                self._require_update_dimensions = True  # redrawn when idle (_on_idle)

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
        self._natural = {key: self.columns[ColumnKey(key)].content_width for key, _ in COLUMNS}

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
        self._stale.clear()  # the rows are built again from the keys as they are now
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
            self.call_after_refresh(lambda: self._start_fill(generation))
            # call_after_refresh queues on whichever screen is current when its message is
            # handled; a screen that goes away before its next refresh takes the callback
            # with it, and the table stopped at FIRST_ROWS rows (bench/yardstick.py hung so).
            self.set_timer(FILL_FALLBACK_S, lambda: self._start_fill(generation))
        elif len(shown) > FIRST_ROWS:
            heap.settle()

    @property
    def filling(self) -> bool:
        """Rows of the last ``show`` are still being added."""
        return self._filled < len(self._pending)

    def _start_fill(self, generation: int) -> None:
        if generation != self._fill_generation or self._fill_started == generation:
            return  # a newer show() started over, or this one's fill is under way
        self._fill_started = generation
        self._fill_soon(generation)

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
        natural = self._natural
        added: list[RowKey] = []
        for key in batch:
            cells = row_cells(key, self.prefix, now, config, colors, self._history.get(key.id, ()))
            added.append(self.add_row(*cells, key=key.id))
            for (column, _title), cell in zip(COLUMNS, cells, strict=True):
                width = cell.cell_len if "\n" not in cell.plain else measure_width(cell)
                if width > natural[column]:
                    natural[column] = width
        self._new_rows.difference_update(added)  # measured above
        self._fit()
        # The virtual size now, not when idle: the first layout after show() then has the
        # table's real size; the idle pass still redraws the header once (_on_idle).
        self._update_dimensions(())
        self._require_update_dimensions = True
        scrollbars_now(self)

    def update_key(
        self, key: ApiKey, now: datetime, config: Config, colors: Mapping[str, str]
    ) -> bool:
        """Rewrite one key's row in place; False when the key is not shown.

        A row out of sight is only marked stale and rewritten once it comes into view (or is
        read): a check of 10,000 keys rewrote every row, and each rewrite made DataTable drop
        every cached line and its row offsets (10,000 of them) on the next frame, which is what
        held key presses back while a check ran (bench/yardstick.py)."""
        if RowKey(key.id) not in self._row_locations:
            return False
        self._stale[key.id] = (key, now, config, colors)
        if self._in_view(key.id):
            self._write_stale([key.id])
        return True

    def _in_view(self, key_id: str) -> bool:
        index = self._row_locations.get(RowKey(key_id))
        if index is None:
            return False
        top = int(self.scroll_y)
        return top <= index < top + max(1, self.size.height)

    def _write_stale(self, key_ids: Sequence[str]) -> None:
        """Write the stale rows ``key_ids``, then let DataTable redraw once for all of them."""
        widened = False
        written: list[RowKey] = []
        for key_id in key_ids:
            stale = self._stale.pop(key_id, None)
            if stale is None or RowKey(key_id) not in self._row_locations:
                continue
            key, now, config, colors = stale
            row = self._data[RowKey(key_id)]
            history = self._history.get(key_id, ())
            for (column, _title), cell in zip(
                COLUMNS, row_cells(key, self.prefix, now, config, colors, history), strict=True
            ):
                # Widen a column whose new cell no longer fits. DataTable's own update_width
                # re-measures the whole column whenever a cell got narrower (10,000 cells per
                # update), so the width is kept here: it only ever grows while rows update.
                # The uncut width is kept (_natural); _fit cuts the columns to the table.
                if cell.cell_len > self._natural[column]:
                    self._natural[column] = cell.cell_len
                    widened = True
                # What update_cell does, without its one count bump (and so cache drop) a cell.
                row[ColumnKey(column)] = cell
            written.append(RowKey(key_id))
        if not written:
            return
        self._forget_rows(written)
        if widened:
            self._fit()
            self._require_update_dimensions = True  # recompute the virtual width when idle
        self.refresh()

    def _forget_rows(self, rows: Sequence[RowKey]) -> None:
        """Drop what DataTable cached for ``rows`` only. A bump of its update count would drop
        every cached cell, and redrawing all the cells in sight cost a key press pending
        behind it ~100 ms on each batch of results and each scroll onto a row rewritten out of
        sight (bench/yardstick.py); the other rows' cells stay valid."""
        gone = set(rows)
        indexes = {self._row_locations.get(row) for row in rows}
        cells, lines, renderables = (
            self._cell_render_cache,
            self._row_render_cache,
            self._row_renderable_cache,
        )
        for cell_key in [k for k in cells.keys() if k[0] in gone]:  # noqa: SIM118 - no __iter__
            cells.discard(cell_key)
        for line_key in [k for k in lines.keys() if k[0] in gone]:  # noqa: SIM118
            lines.discard(line_key)
        for index_key in [k for k in renderables.keys() if k[1] in indexes]:  # noqa: SIM118
            renderables.discard(index_key)
        self._line_cache.clear()  # by screen line: rebuilt from the rows' caches, cheap

    def _write_stale_in_view(self) -> None:
        if not self._stale:
            return
        top = int(self.scroll_y)
        offsets = self._y_offsets
        in_view = {key.value for key, _line in offsets[top : top + self.size.height]}
        due = [key_id for key_id in in_view if key_id is not None and key_id in self._stale]
        if due:
            self._write_stale(due)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._write_stale_in_view()
        return super().render_lines(crop)

    def get_row(self, row_key: RowKey | str) -> list[Text]:
        self._write_stale([_key_id(row_key)])
        return super().get_row(row_key)

    def get_cell(self, row_key: RowKey | str, column_key: ColumnKey | str) -> Text:
        self._write_stale([_key_id(row_key)])
        return super().get_cell(row_key, column_key)

    def _layout_version(self) -> tuple[int, int]:
        return self.row_count, self._update_count - self._content_bumps

    def _current_layout(self) -> tuple[list[Row], list[tuple[RowKey, int]]]:
        version = self._layout_version()
        if self._layout is None or self._layout[0] != version:
            rows, at = self.rows, self._row_locations.get_key
            ordered = [rows[key] for key in map(at, range(self.row_count)) if key is not None]
            offsets = [(row.key, y) for row in ordered for y in range(row.height)]
            self._layout = (version, ordered, offsets)
        return self._layout[1], self._layout[2]

    @property
    def ordered_rows(self) -> list[Row]:
        # DataTable rebuilds this list (10,000 rows) whenever its update count moves, which a
        # rewritten cell does too; here only a change of rows or of their order does.
        return self._current_layout()[0]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        return self._current_layout()[1]

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._layout = None

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
