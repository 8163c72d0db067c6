"""The accounts tree: all accounts → account → sub-account, each with key count and worst status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kutui.model import ApiKey, Registry, Status
from kutui.tui.widgets.status_badge import badge


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


def node_label(name: str, count: int, worst: Status | None, colors: Mapping[str, str]) -> Text:
    """``name``, its key count, and the badge of the worst status among its keys (if any)."""
    text = Text(name, end="")
    text.append(f" {count} ", style="dim")
    if count and worst is not None:
        text.append_text(badge(worst, colors))
    return text


class AccountTree(Tree[NodeRef]):
    BINDING_GROUP_TITLE = "Accounts tree"

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
        #: What each node's label shows now (count, worst status), in the colours of
        #: ``_palette``: a label that would not change is not redrawn.
        self._labels: dict[NodeRef, tuple[int, Status | None]] = {}
        self._palette: tuple[tuple[str, str], ...] = ()

    def load(self, registry: Registry, colors: Mapping[str, str]) -> None:
        """Rebuild the tree from the registry, keeping the selected node when it still exists."""
        selected = self.selected_ref
        self.clear()
        self._by_ref = {ROOT: self.root}
        # Each node is created with its label (set_label afterwards queues a redraw per node).
        tally = _tally(registry)
        self._palette, self._labels = tuple(sorted(colors.items())), {}

        def label(ref: NodeRef) -> Text:
            shown = self._labels[ref] = _shown(tally, ref)
            return node_label(_name(ref), shown[0], shown[1], colors)

        self.root.set_label(label(ROOT))
        # Sub-accounts that only keys name, per account, in key order: one pass over the keys
        # (``keys_under`` per account would be accounts x keys: 10 million steps at 10,000).
        named_by_keys: dict[str, list[str]] = defaultdict(list)
        for key in registry.keys:
            if key.ref.sub:
                named_by_keys[key.ref.account].append(key.ref.sub)
        for account in registry.accounts:
            ref = NodeRef(account.name)
            node = self.root.add(label(ref), data=ref, expand=True)
            self._by_ref[ref] = node
            subs = [s.name for s in account.subaccounts]
            known = set(subs)
            for sub in named_by_keys.get(account.name, ()):
                if sub not in known:
                    known.add(sub)
                    subs.append(sub)
            for sub in subs:
                sub_ref = NodeRef(account.name, sub)
                self._by_ref[sub_ref] = node.add_leaf(label(sub_ref), data=sub_ref)
        self.root.expand()
        target = self._by_ref.get(selected, self.root)
        # New nodes get their line numbers only when the tree lines are built; without this
        # move_cursor sees line -1 and the cursor falls back to the root after every reload.
        _ = self.last_line
        self.move_cursor(target, animate=False)

    def refresh_labels(self, registry: Registry, colors: Mapping[str, str]) -> None:
        """Recount keys and worst status under every node; relabel only the nodes whose count
        or worst status changed. The count is one pass over the keys (a few ms at 10,000);
        building and setting 10,000 labels on every batch of results held the event loop for
        seconds (bench/yardstick.py)."""
        tally = _tally(registry)
        palette = tuple(sorted(colors.items()))
        if palette != self._palette:  # another theme: every label is drawn again
            self._palette, self._labels = palette, {}
        for ref, node in self._by_ref.items():
            shown = _shown(tally, ref)
            if self._labels.get(ref) == shown:
                continue
            self._labels[ref] = shown
            node.set_label(node_label(_name(ref), shown[0], shown[1], colors))

    @property
    def selected_ref(self) -> NodeRef:
        node = self.cursor_node
        return node.data if node is not None and node.data is not None else ROOT

    def select_ref(self, ref: NodeRef) -> None:
        node = self._by_ref.get(ref)
        if node is not None:
            self.move_cursor(node, animate=False)


def status_counts(keys: list[ApiKey]) -> dict[Status, int]:
    counts: dict[Status, int] = defaultdict(int)
    for key in keys:
        counts[key.status] += 1
    return dict(counts)


Tally = dict[str | tuple[str, str], list[Any]]
_EVERYTHING = ""  # the root's entry in a tally: no account has an empty name


def _tally(registry: Registry) -> Tally:
    """Per node: [key count, worst severity, worst status]; accounts by name, sub-accounts by
    (account, sub), the root under ``_EVERYTHING``. One pass over the keys."""
    # Plain strings as keys (a NodeRef per key would cost more than the count itself).
    everything: list[Any] = [0, -1, None]
    tally: Tally = {_EVERYTHING: everything}
    for key in registry.keys:
        status = key.status
        severity = status.severity
        ref = key.ref
        everything[0] += 1
        if severity > everything[1]:
            everything[1:] = severity, status
        for node in (ref.account, (ref.account, ref.sub)) if ref.sub else (ref.account,):
            entry = tally.get(node)
            if entry is None:
                tally[node] = [1, severity, status]
            else:
                entry[0] += 1
                if severity > entry[1]:
                    entry[1:] = severity, status
    return tally


def _shown(tally: Tally, ref: NodeRef) -> tuple[int, Status | None]:
    """What the node's label shows: its key count and worst status."""
    if ref.is_root:
        entry = tally[_EVERYTHING]
    else:
        entry = tally.get(ref.account if ref.sub is None else (ref.account, ref.sub))
    return (entry[0], entry[2]) if entry else (0, None)


def _name(ref: NodeRef) -> str:
    return "All accounts" if ref.is_root else (ref.sub or ref.account)
