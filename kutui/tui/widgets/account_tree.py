"""The accounts tree: all accounts → account → sub-account, each with key count and worst status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kutui.model import ApiKey, Registry, Status
from kutui.tui.keyfacts import worst_status
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


def node_label(name: str, keys: list[ApiKey], colors: Mapping[str, str]) -> Text:
    text = Text(name, end="")
    text.append(f" {len(keys)} ", style="dim")
    if keys:
        text.append_text(badge(worst_status([k.status for k in keys]), colors))
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

    def load(self, registry: Registry, colors: Mapping[str, str]) -> None:
        """Rebuild the tree from the registry, keeping the selected node when it still exists."""
        selected = self.selected_ref
        self.clear()
        self._by_ref = {ROOT: self.root}
        for account in registry.accounts:
            ref = NodeRef(account.name)
            node = self.root.add(account.name, data=ref, expand=True)
            self._by_ref[ref] = node
            subs = [s.name for s in account.subaccounts]
            for key in registry.keys_under(account.name):
                if key.ref.sub and key.ref.sub not in subs:
                    subs.append(key.ref.sub)
            for sub in subs:
                sub_ref = NodeRef(account.name, sub)
                self._by_ref[sub_ref] = node.add_leaf(sub, data=sub_ref)
        self.root.expand()
        self.refresh_labels(registry, colors)
        target = self._by_ref.get(selected, self.root)
        # New nodes get their line numbers only when the tree lines are built; without this
        # move_cursor sees line -1 and the cursor falls back to the root after every reload.
        _ = self.last_line
        self.move_cursor(target, animate=False)

    def refresh_labels(self, registry: Registry, colors: Mapping[str, str]) -> None:
        """Recount keys and worst status under every node (O(keys); cheap even for 10,000)."""
        by_node: dict[NodeRef, list[ApiKey]] = defaultdict(list)
        for key in registry.keys:
            by_node[ROOT].append(key)
            by_node[NodeRef(key.ref.account)].append(key)
            if key.ref.sub:
                by_node[NodeRef(key.ref.account, key.ref.sub)].append(key)
        for ref, node in self._by_ref.items():
            name = "All accounts" if ref.is_root else (ref.sub or ref.account)
            node.set_label(node_label(name, by_node.get(ref, []), colors))

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
