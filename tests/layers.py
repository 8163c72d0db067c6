"""kutui's layer contract (docs/architecture.md, "Layers"): one rank table, checked on the source.

``python -m tests.layers`` (run by ``make lint``) prints every offence and exits 1 if there is
one; ``tests/test_layers.py`` runs the same checks in the suite. Standard library only.

The rules, all read off ``LAYERS`` below:

- a module may import modules of its own group and of any lower row; never a higher row, nor
  another group of its own row (``kucoin`` and ``store`` are peers: neither imports the other);
- every import counts: at module level, inside a function (a lazy import is still a dependency)
  and under ``if TYPE_CHECKING:`` (an annotation naming an upper layer still couples the two;
  no exception is made for it, and none is needed today);
- every kutui module has a row: a new top-level module fails the check until it is placed;
- only ``kutui.tui`` imports textual;
- no import cycle among kutui modules at module level (the import-time guarantee), nor among
  all runtime imports, lazy ones included (two modules that need each other are one idea split
  in two, whichever imports late). TYPE_CHECKING imports never run and are left out here: a
  screen may name its app's type while the app imports the screen.

An import's target is the module it names: ``from kutui.store import kdf`` depends on
``kutui.store.kdf``, ``from kutui.store.vault import Vault`` on ``kutui.store.vault``. Parent
packages, which Python imports first, are not counted: they sit in the same group.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "kutui"

#: The rank table, highest row first. A row holds peer groups; a group holds module names, each
#: standing for itself and its submodules (except ``kutui``: the package's own ``__init__``).
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # front ends: argparse entry, one module per subcommand
    (("kutui.cli", "kutui.commands", "kutui.__main__"),),
    # Textual: the app, screens, widgets
    (("kutui.tui",),),
    # the use cases both front ends call (docs/architecture.md, "Use cases"). demo.py is one too:
    # it builds a demo home (store) and its simulator (kucoin), so it needs a rank above both
    # peers, and it is not a check.
    (("kutui.ops", "kutui.demo"),),
    (("kutui.rotation",),),
    # consumers: writing a key's credentials where its bots read them (files through store)
    (("kutui.checks",), ("kutui.consumers",)),
    # peers. hygiene.py reviews a home's files (kutui.store.files, kutui.paths) and hardens the
    # process; it knows the store's files, not KuCoin, so it ranks with store.
    (("kutui.kucoin",), ("kutui.store", "kutui.hygiene")),
    # plain modules: data, validators, the Secret type, errors, file locations, redaction, the
    # one clock, text cleaning; and the package itself (__version__)
    (
        (
            "kutui.model",
            "kutui.secret",
            "kutui.errors",
            "kutui.paths",
            "kutui.redact",
            "kutui.clock",
            "kutui.text",
            "kutui",
        ),
    ),
)

#: Third-party packages only some layers may import.
ONLY_UNDER = {"textual": "kutui.tui"}

MODULE, FUNCTION, TYPE_CHECKING = "module level", "in a function", "under TYPE_CHECKING"


@dataclass(frozen=True)
class Place:
    rank: int  # higher imports lower
    group: int  # index in its row
    name: str  # the group's first entry, for messages

    def __str__(self) -> str:
        return f"{self.name.removeprefix(PACKAGE + '.')} (rank {self.rank})"


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    path: Path
    line: int
    target: str  # the imported module (kutui's) or package (third party)
    kind: str  # MODULE, FUNCTION or TYPE_CHECKING


def _owns(entry: str, module: str) -> bool:
    return module == entry or (entry != PACKAGE and module.startswith(entry + "."))


def place(module: str) -> Place | None:
    """The row and group of a kutui module, or None when the table does not place it."""
    for depth, row in enumerate(LAYERS):
        for index, group in enumerate(row):
            if any(_owns(entry, module) for entry in group):
                return Place(len(LAYERS) - 1 - depth, index, group[0])
    return None


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` (the directory holding ``kutui/``)."""
    found: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, kind
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for part in child.body:
                yield from _walk_one(part, TYPE_CHECKING)
            for part in child.orelse:
                yield from _walk_one(part, kind)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, TYPE_CHECKING if kind == TYPE_CHECKING else FUNCTION)
        else:
            yield from _walk(child, kind)


def _walk_one(node: ast.stmt, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    wrapper = ast.Module(body=[node], type_ignores=[])
    yield from _walk(wrapper, kind)


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _is_ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def imports(root: Path) -> list[Import]:
    """Every import in the package: kutui targets resolved to modules, others to packages."""
    known = modules(root)
    found: list[Import] = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, kind in _walk(tree, MODULE):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _base(module, path, node)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            for target in dict.fromkeys(targets):
                name = target if _is_ours(target) else target.split(".")[0]
                found.append(Import(module, path, node.lineno, name, kind))
    return found


def _where(item: Import, root: Path) -> str:
    return f"{item.path.relative_to(root)}:{item.line}: {item.source}"


def offences(root: Path) -> list[str]:
    """One line per broken rule: unplaced modules, upward or peer imports, textual misuse."""
    lines = [
        f"{path.relative_to(root)}: {module} has no row in the rank table (tests/layers.py)"
        for module, path in modules(root).items()
        if place(module) is None
    ]
    for item in imports(root):
        if not _is_ours(item.target):
            allowed = ONLY_UNDER.get(item.target)
            if allowed is not None and not _owns(allowed, item.source):
                lines.append(
                    f"{_where(item, root)} imports {item.target} ({item.kind}); only {allowed} may"
                )
            continue
        source, target = place(item.source), place(item.target)
        if source is None or target is None:
            continue  # reported above (or an import of a module that does not exist)
        if target.rank > source.rank:
            why = "a higher layer"
        elif target.rank == source.rank and target.group != source.group:
            why = "a peer layer"
        else:
            continue
        lines.append(
            f"{_where(item, root)} [{source}] imports {item.target} [{target}], {why} ({item.kind})"
        )
    return lines


RUNTIME = frozenset({MODULE, FUNCTION})


def cycles(root: Path, kinds: frozenset[str] = frozenset({MODULE})) -> list[list[str]]:
    """Groups of kutui modules that import one another through imports of ``kinds`` (Tarjan's
    strongly connected components)."""
    graph: dict[str, set[str]] = {module: set() for module in modules(root)}
    for item in imports(root):
        if item.kind in kinds and item.target in graph and item.target != item.source:
            graph[item.source].add(item.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


ROOT = Path(__file__).resolve().parent.parent


def main(root: Path = ROOT) -> int:
    lines = offences(root)
    at_import = cycles(root)
    lines += [f"import cycle at module level: {', '.join(c)}" for c in at_import]
    lines += [
        f"import cycle through runtime imports (module level or in a function): {', '.join(c)}"
        for c in cycles(root, RUNTIME)
        if c not in at_import
    ]
    for line in lines:
        print(line)
    counted = [item for item in imports(root) if _is_ours(item.target)]
    kinds = {
        kind: sum(item.kind == kind for item in counted)
        for kind in (MODULE, FUNCTION, TYPE_CHECKING)
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    verdict = f"{len(lines)} offence(s)" if lines else "layers ok"
    print(f"{verdict}: {len(modules(root))} modules, kutui imports checked: {summary}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
