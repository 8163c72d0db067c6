"""The accounts tree: all accounts → account → sub-account, each with key count and worst status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Span, Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kutui.model import ApiKey, Registry, Status
from kutui.ops.views import shown_status
from kutui.store.history import HistoryEntry
from kutui.tui import heap
from kutui.tui.widgets.scrollbars import scrollbars_now
from kutui.tui.widgets.status_badge import STALE_MARK, badge_label, badge_style, stale_style


@dataclass(frozen=True)
class NodeRef:
    """A tree node: the root (``account == ""``), an account (``sub is None``) or a sub-account."""

    account: str = ""
    sub: str | None = None

    @property
    def is_root(self) -> bool:
        return not self.account

    @property
    def path(self) -> str:
        if self.is_root:
            return ""
        return f"{self.account}/{self.sub}" if self.sub else self.account

    def holds(self, key: ApiKey) -> bool:
        if self.is_root:
            return True
        if key.ref.account != self.account:
            return False
        return self.sub is None or key.ref.sub == self.sub


ROOT = NodeRef()

#: Above this many sub-accounts the accounts start collapsed and each gets its sub-account
#: nodes when first expanded: building 9,000 of them at 10,000 keys was most of the first
#: screen's cost (bench/yardstick.py). Below it every account starts expanded.
COLLAPSED_ABOVE = 2000


def node_label(
    name: str, count: int, worst: Status | None, colors: Mapping[str, str], *, stale: bool = False
) -> Text:
    """``name``, its key count, and the badge of the worst status among its keys (if any),
    marked stale as the table marks a key's (``NodeCounts.stale``)."""
    # One Text with its spans, as appending the count and the badge would build it: the tree
    # makes 11,000 labels at 10,000 keys and each append copies (bench/yardstick.py).
    middle = len(name) + len(str(count)) + 2
    spans = [Span(len(name), middle, "dim")]
    plain = f"{name} {count} "
    if count and worst is not None:
        plain += badge_label(worst)
        style = badge_style(worst, colors)
        if style:  # as Text.append_text: a style-less badge adds no span
            spans.append(Span(middle, len(plain), style))
        if stale:  # the mark ``badge(..., stale=True)`` adds
            start = len(plain)
            plain += STALE_MARK
            mark = stale_style(colors)
            if mark:
                spans.append(Span(start, len(plain), mark))
    return Text(plain, end="", spans=spans)


class _AccountNode(TreeNode[NodeRef]):
    """A node that gets its children from the tree when first expanded (``COLLAPSED_ABOVE``)."""

    def _expand(self, expand_all: bool) -> None:
        tree = self._tree
        if isinstance(tree, AccountTree):
            tree._add_pending(self)  # noqa: SLF001 - its own tree
        super()._expand(expand_all)


class AccountTree(Tree[NodeRef]):
    BINDING_GROUP_TITLE = "Accounts tree"
    #: True while ``load`` adds nodes (a class default: Tree.__init__ already invalidates).
    _building = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down", tooltip="Next node"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up", tooltip="Previous node"),
        Binding("g", "scroll_home", "Top", show=False, id="tree.top", tooltip="First node"),
        Binding("G", "scroll_end", "Bottom", show=False, id="tree.bottom", tooltip="Last node"),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__("All accounts", data=ROOT, id=id)
        self.show_root = True
        self.guide_depth = 2
        self._by_ref: dict[NodeRef, TreeNode[NodeRef]] = {}
        #: What each node's label shows now (count, worst status, stale), in the colours of
        #: ``_palette``: a label that would not change is not redrawn.
        self._labels: dict[NodeRef, tuple[int, Status | None, bool]] = {}
        self._palette: tuple[tuple[str, str], ...] = ()
        self._colors: Mapping[str, str] = {}
        #: Sub-accounts per account node not expanded yet (``COLLAPSED_ABOVE``).
        self._pending: dict[NodeRef, list[str]] = {}
        #: Results per key id: a node counts a key by the status an outage leaves standing.
        self.history: Mapping[str, Sequence[HistoryEntry]] = {}
        self._counts = NodeCounts(lambda key: shown_status(key, self.history.get(key.id, ())))

    def load(self, registry: Registry, colors: Mapping[str, str]) -> None:
        """Rebuild the tree from the registry, keeping the selected node when it still exists."""
        selected = self.selected_ref
        heap.release()  # the old nodes (cycles: parent and children) are garbage from here
        self.clear()
        self._by_ref = {ROOT: self.root}
        self._building = True  # one invalidation for the whole tree, below
        try:
            self._add_nodes(registry, colors)
        finally:
            self._building = False
            self._invalidate()
        target = self._node_of(selected) or self.root
        # New nodes get their line numbers only when the tree lines are built; without this
        # move_cursor sees line -1 and the cursor falls back to the root after every reload.
        _ = self.last_line
        scrollbars_now(self)
        self.move_cursor(target, animate=False)

    def _add_nodes(self, registry: Registry, colors: Mapping[str, str]) -> None:
        # Each node is created with its label (set_label afterwards queues a redraw per node).
        self._counts.recount(registry)
        self._palette, self._labels = tuple(sorted(colors.items())), {}
        self._colors, self._pending = colors, {}
        label = self._label
        self.root.set_label(label(ROOT))
        # Sub-accounts that only keys name, per account, in key order: one pass over the keys
        # (``keys_under`` per account would be accounts x keys: 10 million steps at 10,000).
        named_by_keys: dict[str, list[str]] = defaultdict(list)
        for key in registry.keys:
            if key.ref.sub:
                named_by_keys[key.ref.account].append(key.ref.sub)
        subs_of: dict[str, list[str]] = {}
        for account in registry.accounts:
            subs = subs_of[account.name] = [s.name for s in account.subaccounts]
            known = set(subs)
            for sub in named_by_keys.get(account.name, ()):
                if sub not in known:
                    known.add(sub)
                    subs.append(sub)
        collapsed = sum(map(len, subs_of.values())) > COLLAPSED_ABOVE
        for name, subs in subs_of.items():
            ref = NodeRef(name)
            if collapsed and subs:
                node = self.root.add(label(ref), data=ref, expand=False)
                self._pending[ref] = subs
            else:
                node = self.root.add(label(ref), data=ref, expand=True)
                for sub in subs:
                    sub_ref = NodeRef(name, sub)
                    self._by_ref[sub_ref] = node.add_leaf(label(sub_ref), data=sub_ref)
            self._by_ref[ref] = node
        self.root.expand()

    def _label(self, ref: NodeRef) -> Text:
        shown = self._labels[ref] = self._counts.label_of(ref)
        return node_label(_name(ref), shown[0], shown[1], self._colors, stale=shown[2])

    def _add_node(
        self,
        parent: TreeNode[NodeRef] | None,
        label: Text,
        data: NodeRef | None,
        expand: bool = False,
    ) -> TreeNode[NodeRef]:
        # As Tree._add_node, with nodes that can get their children on expand.
        node = _AccountNode(self, parent, self._new_id(), label, data, expanded=expand)
        self._tree_nodes[node._id] = node
        self._updates += 1
        return node

    def _add_pending(self, node: TreeNode[NodeRef]) -> None:
        """Add the sub-account nodes of an account expanded for the first time."""
        ref = node.data
        subs = self._pending.pop(ref, None) if ref is not None else None
        if ref is None or not subs:
            return
        building, self._building = self._building, True  # one invalidation: the expand's
        try:
            for sub in subs:
                sub_ref = NodeRef(ref.account, sub)
                self._by_ref[sub_ref] = node.add_leaf(self._label(sub_ref), data=sub_ref)
        finally:
            self._building = building

    def _node_of(self, ref: NodeRef) -> TreeNode[NodeRef] | None:
        """The node of ``ref``; a sub-account's account is expanded first if it must be."""
        node = self._by_ref.get(ref)
        if node is None and ref.sub is not None:
            account = self._by_ref.get(NodeRef(ref.account))
            if account is not None and NodeRef(ref.account) in self._pending:
                account.expand()
                _ = self.last_line  # the new nodes' line numbers, for move_cursor (see load)
                node = self._by_ref.get(ref)
        return node

    def refresh_labels(
        self,
        registry: Registry,
        colors: Mapping[str, str],
        changed: Iterable[ApiKey] | None = None,
    ) -> None:
        """Relabel the nodes whose key count or worst status changed.

        ``changed``: the keys whose status may have changed since the last call (a batch of
        check results); only their nodes are recounted. None: recount every key. Setting
        10,000 labels, or even recounting 10,000 keys, on every batch of results held the
        event loop for seconds (bench/yardstick.py)."""
        if changed is None or not self._counts.update(changed):
            self._counts.recount(registry)
            nodes: Iterable[NodeRef] = self._by_ref
        else:
            nodes = self._counts.take_dirty()
        palette = tuple(sorted(colors.items()))
        self._colors = colors
        if palette != self._palette:  # another theme: every label is drawn again
            self._palette, self._labels = palette, {}
            nodes = self._by_ref
        for ref in nodes:
            node = self._by_ref.get(ref)
            if node is None:
                continue
            shown = self._counts.label_of(ref)
            if self._labels.get(ref) == shown:
                continue
            self._labels[ref] = shown
            node.set_label(node_label(_name(ref), shown[0], shown[1], colors, stale=shown[2]))

    def process_label(self, label: str | Text) -> Text:
        # Tree keeps a label's first line, splitting (and so copying) every label, twice per
        # node added; kutui's labels are one line already.
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def get_label_width(self, node: TreeNode[NodeRef]) -> int:
        # Tree renders every label (a copy, a style, a prefix) to measure it, for each of the
        # 11,000 lines whenever it rebuilds them; the width is the icon's plus the label's.
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(label)
        if node.allow_expand:
            width += cell_len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        return width

    def _on_resize(self, event: events.Resize) -> None:
        # Tree rebuilds its 11,000 lines on every resize (Tree._on_resize invalidates them), and
        # the first layout resizes it twice (its scrollbar appears). The lines do not depend on
        # the size and the line cache is keyed by width: growing the cache and a repaint do.
        event.prevent_default()
        self._line_cache.grow(event.size.height)
        self.refresh()

    def _invalidate(self) -> None:
        # Tree invalidates its line cache and refreshes once per node added; while ``load``
        # adds 11,000 nodes that is most of its cost, so it invalidates once when done.
        if not self._building:
            super()._invalidate()

    @property
    def selected_ref(self) -> NodeRef:
        node = self.cursor_node
        return node.data if node is not None and node.data is not None else ROOT

    def select_ref(self, ref: NodeRef) -> None:
        node = self._node_of(ref)
        if node is not None:
            self.move_cursor(node, animate=False)


def status_counts(keys: list[ApiKey]) -> dict[Status, int]:
    counts: dict[Status, int] = defaultdict(int)
    for key in keys:
        counts[key.status] += 1
    return dict(counts)


#: A node as NodeCounts keys it: (account, sub). A tuple of strings hashes in C; NodeRef's
#: dataclass hash is a Python call, and counting 10,000 keys hashed 60,000 of them.
_Node = tuple[str, str | None]
_ROOT_NODE: _Node = ("", None)


class NodeCounts:
    """Per tree node: how many keys it holds in each status, kept up to date key by key."""

    def __init__(
        self, status_of: Callable[[ApiKey], tuple[Status, bool]] = lambda key: (key.status, False)
    ) -> None:
        #: The status a key is counted by and whether it is stale (the tree: its last definite
        #: one during an outage, ``kutui.ops.views.shown_status``).
        self.status_of = status_of
        self._statuses: dict[_Node, dict[Status, int]] = {}
        #: Per node, how many keys of each status are counted by a stale one (only outages).
        self._stale: dict[_Node, dict[Status, int]] = {}
        self._members: dict[_Node, list[ApiKey]] = {}
        # key id -> the status counted for it, and whether stale
        self._status_of: dict[str, tuple[Status, bool]] = {}
        self._dirty: set[_Node] = set()

    @staticmethod
    def _nodes_of(key: ApiKey) -> tuple[_Node, ...]:
        ref = key.ref
        if ref.sub:
            return _ROOT_NODE, (ref.account, None), (ref.account, ref.sub)
        return _ROOT_NODE, (ref.account, None)

    def recount(self, registry: Registry) -> None:
        statuses: dict[_Node, dict[Status, int]] = {}
        members: dict[_Node, list[ApiKey]] = {}
        # Nodes per owner, not per key: building three per key would cost more than the count.
        owners: dict[tuple[str, str], tuple[_Node, ...]] = {}
        status_of: dict[str, tuple[Status, bool]] = {}
        stale: dict[_Node, dict[Status, int]] = {}
        shown = self.status_of
        for key in registry.keys:
            counted = status_of[key.id] = shown(key)
            status = counted[0]
            owner = (key.ref.account, key.ref.sub)
            nodes = owners.get(owner)
            if nodes is None:
                nodes = owners[owner] = self._nodes_of(key)
            for node in nodes:
                counts = statuses.get(node)
                if counts is None:
                    statuses[node] = {status: 1}
                    members[node] = [key]
                else:
                    counts[status] = counts.get(status, 0) + 1
                    members[node].append(key)
                if counted[1]:
                    per = stale.setdefault(node, {})
                    per[status] = per.get(status, 0) + 1
        self._statuses, self._members, self._status_of = statuses, members, status_of
        self._stale = stale
        self._dirty = set()

    def update(self, keys: Iterable[ApiKey]) -> bool:
        """Count the keys' current statuses; False (nothing changed) if one is not known."""
        keys = list(keys)
        if any(key.id not in self._status_of for key in keys):
            return False  # added since the last recount
        for key in keys:  # a key may come twice: compare with what was counted last
            old, new = self._status_of[key.id], self.status_of(key)
            if old == new:
                continue
            self._status_of[key.id] = new
            for node in self._nodes_of(key):
                counts = self._statuses[node]
                counts[old[0]] -= 1
                counts[new[0]] = counts.get(new[0], 0) + 1
                if old[1]:
                    self._stale[node][old[0]] -= 1
                if new[1]:
                    per = self._stale.setdefault(node, {})
                    per[new[0]] = per.get(new[0], 0) + 1
                self._dirty.add(node)
        return True

    def take_dirty(self) -> set[NodeRef]:
        dirty, self._dirty = self._dirty, set()
        return {NodeRef(account, sub) for account, sub in dirty}

    def shown(self, ref: NodeRef) -> tuple[int, Status | None]:
        """The node's key count and worst status (the first key's, in registry order, when
        two statuses share the worst severity: as ``keyfacts.worst_status`` picks)."""
        node = (ref.account, ref.sub)
        counts = self._statuses.get(node)
        if not counts:
            return 0, None
        if len(counts) == 1:  # most nodes: one key, or keys all in one status
            ((status, count),) = counts.items()
            return (count, status) if count > 0 else (0, None)
        present = [s for s, n in counts.items() if n > 0]
        if not present:
            return 0, None
        top = max(s.severity for s in present)
        worst = [s for s in present if s.severity == top]
        if len(worst) > 1:
            members = self._members.get(node, [])
            statuses = (self._status_of[k.id][0] for k in members)
            first = next((s for s in statuses if s.severity == top), worst[0])
            return sum(counts.values()), first
        return sum(counts.values()), worst[0]

    def stale(self, ref: NodeRef, status: Status | None) -> bool:
        """Whether every key of the node counted with ``status`` is counted by a stale one:
        the node's badge then says no more than the table's stale rows (a node with one fresh
        result of that status is not marked)."""
        node = (ref.account, ref.sub)
        per = self._stale.get(node)
        if not per or status is None:
            return False
        count = per.get(status, 0)
        return count > 0 and count == self._statuses[node].get(status, 0)

    def label_of(self, ref: NodeRef) -> tuple[int, Status | None, bool]:
        """What the node's label shows: key count, worst status, and whether that is stale."""
        count, worst = self.shown(ref)
        return count, worst, self.stale(ref, worst)


def _name(ref: NodeRef) -> str:
    return "All accounts" if ref.is_root else (ref.sub or ref.account)
