"""The main screen: accounts tree, keys table, detail pane or overview, live check progress."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, Input, Tree

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.model import ApiKey, Status
from kutui.ops import checks, views
from kutui.tui import heap
from kutui.tui.screens.key_actions import KeyActions
from kutui.tui.watch import Watch
from kutui.tui.widgets.account_tree import ROOT, AccountTree, NodeRef
from kutui.tui.widgets.check_progress import CheckProgress
from kutui.tui.widgets.detail import KeyDetail
from kutui.tui.widgets.keys_table import KeysTable
from kutui.tui.widgets.overview import Overview

CHECK_GROUP = "checks"
#: Results are drawn at most this often (seconds): 10,000 results stay a few dozen redraws, each
#: of which (table rows, tree labels, progress line) delays a key press pending behind it.
FLUSH_EVERY = 0.25
#: Above this many keys, moving in the tree waits for the cursor to rest before redrawing.
DEBOUNCE_ABOVE = 2000


class MainScreen(KeyActions):
    BINDING_GROUP_TITLE = "Main screen"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "check", "Check", id="main.check", tooltip="Check the selected key or node"),
        Binding("C", "check_all", "Check all", id="main.check_all", tooltip="Check every key"),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            show=False,
            id="main.cancel",
            tooltip="Cancel the running check, or clear the filter",
        ),
        Binding("slash", "filter", "Filter", id="main.filter", tooltip="Filter the keys table"),
        Binding(
            "F",
            "failing_only",
            "Failing only",
            show=False,
            id="main.failing_only",
            tooltip="Show only failing keys, or every key again (the Status header says which)",
        ),
        Binding(
            "right_square_bracket",
            "next_failing(1)",
            "Next failing",
            show=False,
            id="main.next_failing",
            tooltip="Jump to the next failing key",
        ),
        Binding(
            "left_square_bracket",
            "next_failing(-1)",
            "Previous failing",
            show=False,
            id="main.prev_failing",
            tooltip="Jump to the previous failing key",
        ),
        Binding(
            "o",
            "sort",
            "Sort",
            show=False,
            id="main.sort",
            tooltip="Sort by the next column (Status: by severity, failing first; ▲ in its header)",
        ),
        Binding(
            "O",
            "sort_reverse",
            "Reverse sort",
            show=False,
            id="main.sort_reverse",
            tooltip="Reverse the sort order (▼ in the sorted column's header)",
        ),
        Binding("n", "note", "Note", id="main.note", tooltip="Edit the key's permission note"),
        Binding(
            "e",
            "edit_note",
            "$EDITOR",
            show=False,
            id="main.edit_note",
            tooltip="Edit the note text in $EDITOR",
        ),
        Binding(
            "v",
            "reveal",
            "Reveal",
            show=False,
            id="main.reveal",
            tooltip="Show the key's credentials for 10 s",
        ),
        Binding(
            "y",
            "copy('api_key')",
            "Copy key",
            show=False,
            id="main.copy",
            tooltip="Copy the API key (cleared after 45 s)",
        ),
        Binding(
            "Y",
            "copy('api_secret')",
            "Copy secret",
            show=False,
            id="main.copy_secret",
            tooltip="Copy the API secret after a confirmation",
        ),
        Binding(
            "P",
            "copy('passphrase')",
            "Copy passphrase",
            show=False,
            id="main.copy_passphrase",
            tooltip="Copy the API passphrase after a confirmation",
        ),
        # y / Y / P copy credentials (here and on the rotation screen), so the yanks of what is
        # not secret take their initials.
        Binding(
            "R",
            "yank('reference')",
            "Copy ref",
            show=False,
            id="main.copy_ref",
            tooltip="Copy the key's reference, account/sub/label (not secret)",
        ),
        Binding(
            "f",
            "yank('fingerprint')",
            "Copy fingerprint",
            show=False,
            id="main.copy_fingerprint",
            tooltip="Copy the key's fingerprint, the API key's last 4 characters (not secret)",
        ),
        Binding("r", "rotate", "Rotate", id="main.rotate", tooltip="Rotate the selected key"),
        Binding("a", "add", "Add key", id="main.add", tooltip="Add a key under the node"),
        Binding(
            "A",
            "add_node",
            "Add account",
            show=False,
            id="main.add_node",
            tooltip="Add an account (root) or a sub-account (account selected)",
        ),
        Binding(
            "u",
            "edit",
            "Edit",
            show=False,
            id="main.edit",
            tooltip="Edit the selected key, sub-account or account",
        ),
        Binding(
            "d",
            "remove",
            "Remove",
            show=False,
            id="main.remove",
            tooltip="Remove the selected key, or an empty sub-account/account",
        ),
        Binding(
            "i",
            "import_subs",
            "Import subs",
            show=False,
            id="main.import",
            tooltip="Import sub-accounts through the account's master key",
        ),
        Binding(
            "w",
            "watch",
            "Watch",
            show=False,
            id="main.watch",
            tooltip="Re-check every key on an interval (off by default); shown in the header",
        ),
        Binding(
            "h",
            "focus_tree",
            "Tree",
            show=False,
            id="main.focus_tree",
            tooltip="Focus the accounts tree",
        ),
        Binding(
            "l",
            "focus_table",
            "Table",
            show=False,
            id="main.focus_table",
            tooltip="Focus the keys table",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="main")
        self.node: NodeRef = ROOT
        self.query_text = ""
        self._filter_timer: Timer | None = None
        self._node_timer: Timer | None = None
        self._last_progress: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.ready = False
        #: Layouts left before full collections resume after a reload (0: not held).
        self._held_layouts = 0
        #: A key to select once a reload shows it (a key just added).
        self.select_after_reload: str | None = None
        self.rechecks = Watch(self)  # not "watch": DOMNode.watch is Textual's own

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="body"):
            yield AccountTree(id="tree")
            with Vertical(id="right"):
                yield Input(placeholder="filter keys (label, fingerprint, status...)", id="filter")
                yield KeysTable(id="keys")
                with ContentSwitcher(initial="overview", id="lower"):
                    yield KeyDetail(id="detail")
                    yield Overview(id="overview")
        yield CheckProgress(id="progress")  # full width: whole at 80 columns
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AccountTree).focus()
        self.ready = True
        if self.kapp.registry_loaded:
            self.reload()

    @property
    def account_tree(self) -> AccountTree:
        return self.query_one(AccountTree)

    @property
    def table(self) -> KeysTable:
        return self.query_one(KeysTable)

    # ------------------------------------------------------------------ showing data

    def reload(self) -> None:
        """Rebuild tree and table from the app's registry (after load, unlock or an edit)."""
        app = self.kapp
        self._hold_full_passes_until_drawn()
        self.account_tree.history = app.history
        self.account_tree.load(app.registry, app.theme_colors)
        self.show_node(self.account_tree.selected_ref)
        wanted = self.select_after_reload
        if wanted is not None and wanted in self.table.shown_ids:
            self.select_after_reload = None
            self.table.move_cursor(row=self.table.shown_ids.index(wanted), animate=False)
            self.table.focus()
            self.show_detail(wanted)

    def _hold_full_passes_until_drawn(self) -> None:
        """No full collection until the screen is laid out and drawn again: building 11,000
        tree nodes and the table's first rows at 10,000 keys set off three, and each walks
        every object the app holds (0.2 s apiece, bench/yardstick.py). Young passes still run.
        ``call_after_refresh`` would end the hold too soon: it can run before that layout."""
        if self._held_layouts or not self.is_current:
            return  # held already, or not current: no layout to wait for
        self._held_layouts = 2
        heap.hold_full_passes()
        # The tree stands in for this screen: the screen's own subscription stays.
        self.screen_layout_refresh_signal.subscribe(
            self.account_tree, self._laid_out, immediate=True
        )

    def _laid_out(self, _screen: object = None) -> None:
        # A layout that gave the tree or the table its scrollbar lays them out once more.
        widgets = (self.account_tree, self.table)
        again = any(w._layout_required for w in widgets)  # noqa: SLF001 - no public flag
        if again and self._held_layouts > 1:
            self._held_layouts -= 1
            return
        self._release_full_passes()

    def _release_full_passes(self) -> None:
        if self._held_layouts:
            self._held_layouts = 0
            self.screen_layout_refresh_signal.unsubscribe(self.account_tree)
            # Not exempted now: the garbage the rebuild left meets full passes first; the table
            # exempts what is alive once its rows are in (KeysTable.show).
            heap.release_full_passes(exempt=False)

    def on_unmount(self) -> None:
        self._release_full_passes()

    def keys_of(self, ref: NodeRef) -> list[ApiKey]:
        keys = self.kapp.registry.keys
        return list(keys) if ref.is_root else [k for k in keys if ref.holds(k)]

    def show_node(self, ref: NodeRef) -> None:
        app = self.kapp
        self.node = ref
        keys = self.keys_of(ref)
        self.table.show(
            keys,
            prefix=ref.path,
            query=self.query_text,
            now=app.now(),
            config=app.config,
            colors=app.theme_colors,
            history=app.history,
        )
        if ref.is_root:
            self.show_overview(keys)
        else:
            self.show_detail(self.table.selected_key_id)

    def show_overview(self, keys: Sequence[ApiKey] | None = None) -> None:
        app = self.kapp
        self.query_one("#lower", ContentSwitcher).current = "overview"
        self.query_one(Overview).show(
            keys if keys is not None else app.registry.keys,
            now=app.now(),
            max_days=app.config.rotation.max_key_age_days,
            colors=app.theme_colors,
        )

    def show_detail(self, key_id: str | None) -> None:
        app = self.kapp
        self.query_one("#lower", ContentSwitcher).current = "detail"
        detail = self.query_one(KeyDetail)
        key = app.key_by_id(key_id) if key_id else None
        if key is None:
            detail.show_nothing("No key selected." if self.table.row_count else "No keys here.")
            return
        detail.show(
            key,
            now=app.now(),
            config=app.config,
            colors=app.theme_colors,
            history=app.history_of(key.id),
            rotations=app.rotations.get(key.id, []),
            consumers=app.consumers.get(key.id, []),
        )

    @property
    def selected_key(self) -> ApiKey | None:
        key_id = self.table.selected_key_id
        return self.kapp.key_by_id(key_id) if key_id else None

    @on(Tree.NodeHighlighted, "#tree")
    def _node_highlighted(self, event: Tree.NodeHighlighted[NodeRef]) -> None:
        ref = event.node.data if event.node.data is not None else ROOT
        if ref == self.node and self.table.row_count:
            return
        if self._node_timer is not None:
            self._node_timer.stop()
            self._node_timer = None
        if len(self.kapp.registry.keys) < DEBOUNCE_ABOVE:
            self.show_node(ref)
        else:
            # With thousands of keys a table rebuild takes a while: wait until the cursor
            # rests, so holding j in the tree does not queue one rebuild per node.
            self._node_timer = self.set_timer(0.15, lambda: self.show_node(ref))

    @on(DataTable.RowHighlighted, "#keys")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.table.has_focus or not self.node.is_root:
            self.show_detail(event.row_key.value)

    @on(Tree.NodeSelected, "#tree")
    def _node_selected(self, event: Tree.NodeSelected[NodeRef]) -> None:
        self.table.focus()

    def on_descendant_focus(self) -> None:
        # With the root selected, the lower pane follows focus: overview for the tree, detail
        # for the table.
        if not self.node.is_root:
            return
        if self.table.has_focus:
            self.show_detail(self.table.selected_key_id)
        elif self.account_tree.has_focus:
            self.show_overview(self.keys_of(ROOT))

    def action_focus_tree(self) -> None:
        self.account_tree.focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    # ------------------------------------------------------------------ rotation
    # (notes, reveal/copy, add/edit/remove and import: kutui/tui/screens/key_actions.py)

    def action_yank(self, what: str) -> None:
        """Copy the selected key's "reference" or "fingerprint" (not secret: at once)."""
        from kutui.tui.clipboard import copy_plain

        key = self.selected_key
        if key is None:
            self.notify("Select a key in the table first.", severity="warning")
            return
        value = str(key.ref) if what == "reference" else key.fingerprint
        if not value:
            self.notify(f"{key.ref} has no {what} yet.", severity="warning")
            return
        copy_plain(self.kapp, value, what)

    def action_watch(self) -> None:
        self.rechecks.toggle()

    def action_rotate(self) -> None:
        from kutui.tui.screens.rotation import RotationScreen

        app = self.kapp
        key = self.selected_key
        if key is None:
            self.notify("Select a key in the table first.", severity="warning")
            return
        if app.vault is None:
            self.notify("Unlock the vault first (ctrl+l).", severity="warning")
            return
        pool = app.make_pool()

        async def closed(_result: object) -> None:
            await pool.aclose()
            app.load_registry()

        app.push_screen(
            RotationScreen(app.home, app.vault, key.id, pool, clock=app.clock.now), closed
        )

    # ------------------------------------------------------------------ filter and sort

    def action_failing_only(self) -> None:
        self.table.failing_only = not self.table.failing_only
        self.show_node(self.node)

    def action_next_failing(self, step: int) -> None:
        if not self.table.next_failing(step):
            self.notify("No failing key is shown here.", severity="information")
            return
        self.table.focus()
        self.show_detail(self.table.selected_key_id)

    def action_sort(self) -> None:
        """Cycle the sort column: each of kutui/ops/views.py's SORT_COLUMNS, then as stored."""
        table = self.table
        order: list[str | None] = [None, *views.SORT_COLUMNS]
        table.sort_column = order[(order.index(table.sort_column) + 1) % len(order)]
        table.sort_reverse = False
        table.start_at_top()
        self.show_node(self.node)

    def action_sort_reverse(self) -> None:
        if self.table.sort_column is None:
            self.table.sort_column = views.SORT_COLUMNS[0]
        self.table.sort_reverse = not self.table.sort_reverse
        self.table.start_at_top()
        self.show_node(self.node)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        if self._filter_timer is not None:
            self._filter_timer.stop()
        # Re-filtering 10,000 rows per keystroke would lag: wait for a pause in typing.
        self._filter_timer = self.set_timer(0.15, lambda: self.show_node(self.node))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.show_node(self.node)
        self.table.focus()

    def clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-shown")
        self.query_text = ""
        self.show_node(self.node)
        self.table.focus()

    # ------------------------------------------------------------------ checks

    @property
    def checking(self) -> bool:
        return any(w.group == CHECK_GROUP and not w.is_finished for w in self.workers)

    def action_cancel(self) -> None:
        if self.checking:
            self.workers.cancel_group(self, CHECK_GROUP)
            return
        if self.query_text or self.query_one("#filter", Input).has_class("-shown"):
            self.clear_filter()

    def action_check(self) -> None:
        key = self.selected_key
        if self.table.has_focus and key is not None:
            self.start_checks([key], str(key.ref))
        else:
            keys = self.keys_of(self.node)
            self.start_checks(keys, self.node.path or "every key")

    def action_check_node(self) -> None:
        self.start_checks(self.keys_of(self.node), self.node.path or "every key")

    def action_check_key(self) -> None:
        key = self.selected_key
        if key is not None:
            self.start_checks([key], str(key.ref))

    def action_jump(self, account: str, sub: str) -> None:
        self.account_tree.select_ref(NodeRef(account, sub or None))
        self.account_tree.focus()

    def action_check_all(self) -> None:
        self.start_checks(list(self.kapp.registry.keys), "every key")

    def start_checks(self, keys: Sequence[ApiKey], what: str) -> None:
        app = self.kapp
        if not keys:
            self.notify("There are no keys to check here.", severity="warning")
            return
        if app.vault is None:
            self.notify("Unlock the vault first (ctrl+l, or restart kutui).", severity="warning")
            return
        targets = checks.targets(app.registry, keys, app.vault.data)
        self.run_worker(
            self._run_checks(targets, what),
            name=f"check {what}",
            group=CHECK_GROUP,
            exclusive=True,
            exit_on_error=False,
            description=f"checking {len(targets)} keys",
        )

    async def _run_checks(self, targets: Sequence[CheckTarget], what: str) -> int:
        from kutui.checks.in_child import ChildRun
        from kutui.checks.in_thread import ThreadedRun
        from kutui.clock import current

        app = self.kapp
        progress = self.query_one(CheckProgress)
        progress.start(len(targets), what)
        self._last_progress = (0, len(targets), 0, 0)
        done = 0
        settings, clock, checker = app.config.checks, app.clock, app.checker
        # This loop only applies batches of results, so key presses wait for a batch at most,
        # not for the engine. The real engine runs in a child process, which shares no GIL
        # with this loop (kutui/checks/in_child.py); an engine, transport or clock the app was
        # given (tests) lives in this process, so that one runs on a thread's own loop.
        run: ChildRun | ThreadedRun
        if checker is None and app.transport is None and clock is current():
            run = ChildRun(settings, targets, FLUSH_EVERY)
        else:
            run = ThreadedRun(
                lambda pool: checks.run(settings, targets, pool=pool, clock=clock, checker=checker),
                app.make_pool,
                FLUSH_EVERY,
            )
        cancelled = False
        heap.hold_full_passes()
        run.start()
        try:
            async for batch in run.batches():
                done += len(batch)
                self.flush_results(batch)
                # Give the UI a turn even when batches arrive faster than it draws.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            for batch in await run.finish():
                done += len(batch)
                self.flush_results(batch)
            heap.release_full_passes()
            if self.is_attached:  # not while the app is shutting down
                self._finish_run(done, what, cancelled=cancelled)
            app.save_results_soon(force=True)
        if run.error is not None:
            raise run.error  # the worker fails as it did when the engine ran on this loop
        return done

    def _finish_run(self, done: int, what: str, *, cancelled: bool) -> None:
        self.query_one(CheckProgress).finish()
        if self.query_one("#lower", ContentSwitcher).current == "overview":
            self.show_overview(self.keys_of(self.node))
        _d, total, ok, failing = self._last_progress
        verb = "Cancelled" if cancelled else "Checked"
        self.notify(
            f"{verb}: {done} of {total} keys checked, {ok} ok, {failing} failing.",
            title=f"Check {what}",
            severity="warning" if cancelled or failing else "information",
            markup=False,
        )

    def flush_results(self, events: Sequence[CheckEvent]) -> None:
        """Record a batch of results, then draw it: rows in place, tree counts, progress,
        the detail pane. Recording comes first so a screen being torn down loses nothing."""
        if not events:
            return
        app = self.kapp
        _d, total, ok, failing = self._last_progress
        changed: list[ApiKey] = []
        for event in events:
            key = app.key_by_id(event.target.key_id)
            if key is None:
                continue
            if not app.state.learn(key, event.result):
                continue  # unchecked (no secret stored): nothing learned, nothing counted
            changed.append(key)
            if event.result.status is Status.OK:
                ok += 1
            elif checks.failing(event.result.status):
                failing += 1
        last = events[-1]
        self._last_progress = (last.done, last.total, ok, failing)
        if not self.is_attached:
            return
        now = app.now()
        selected = self.table.selected_key_id
        with app.batch_update():
            for key in changed:
                self.table.update_key(key, now, app.config, app.theme_colors)
            self.query_one(CheckProgress).advance(last.done, last.total, ok, failing)
            self.account_tree.history = app.history
            self.account_tree.refresh_labels(app.registry, app.theme_colors, changed)
            lower = self.query_one("#lower", ContentSwitcher).current
            if lower == "detail" and any(k.id == selected for k in changed):
                self.show_detail(selected)
