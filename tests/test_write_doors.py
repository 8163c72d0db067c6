"""Every change to a home's data goes through ``kutui/ops/`` (docs/architecture.md, "Use cases"):
``kutui/commands/`` and ``kutui/tui/`` call no write door of their own.

The scan reads the source (AST) of both front ends for calls of the store's write doors: the
``Home`` methods that write (registry, state, results, credentials), the vault's writers, kutui.db
transactions, the rotation store, atomic file writes. A door is recognised by its name, or, for
names that mean other things elsewhere (``update``, ``put``, ``save``, ``write``...), by its name
on a receiver named like the store it writes (``vault.update``, ``data.put``, ``store.write``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONT_ENDS = ("kutui/commands", "kutui/tui")

#: Called by any receiver (or bare, when imported): only the store has methods of these names.
DOORS = frozenset(
    {
        # kutui/store/home.py
        "update_registry",
        "update_state",
        "record_results",
        "add_credentials",
        "note_vault_generation",
        # kutui/store/vault.py
        "set_passphrase",
        "enable_keyring",
        "disable_keyring",
        "remove_backups",
        "remove_key",
        # kutui/store/keyring_unlock.py
        "store_kek",
        "enroll_keyring",
        # kutui/store/files.py, state.py, history.py, registry_export.py
        "atomic_write",
        "write_new_private",
        "write_state",
        "write_history",
        "import_registry",
        # kutui/checks/importer.py (changes a registry in place) and results.py
        "merge_remote",
        "ResultSaver",
    }
)
#: Door names that are common words: a door only on a receiver named like a store.
ON_STORES = frozenset({"update", "put", "drop", "promote", "save", "write", "create", "unlink"})
STORE_RECEIVER = re.compile(r"(vault|data|store|tx|Vault|RotationStore)$")

#: Writes that are not a home's data, each with why.
ALLOWED = {
    # F9: an SVG screenshot in the directory kutui was started from (0600), not the home.
    ("kutui/tui/app.py", "write_new_private"),
}


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    door: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: calls {self.door}"


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return "?"


def _use_cases(tree: ast.AST) -> set[str]:
    """Names a file binds to ``kutui.ops`` (modules or functions): calling them is the point."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kutui.ops"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.startswith("kutui.ops")
            )
    return names


def writes(root: Path, folders: tuple[str, ...] = FRONT_ENDS) -> list[Write]:
    """Every call of a write door in ``folders`` (relative to ``root``), allowed ones left out."""
    found: list[Write] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            ops_names = _use_cases(tree) if folder in FRONT_ENDS else set()
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Name):
                    name, receiver = func.id, ""
                elif isinstance(func, ast.Attribute):
                    name, receiver = func.attr, _dotted(func.value)
                else:
                    continue
                if (receiver.split(".")[0] if receiver else name) in ops_names:
                    continue  # a use case: kutui.ops.keys.remove_key is not Vault.remove_key
                door = name in DOORS or (
                    name in ON_STORES and STORE_RECEIVER.search(receiver.removesuffix("()"))
                )
                if door and (rel, name) not in ALLOWED:
                    shown = f"{receiver}.{name}" if receiver else name
                    found.append(Write(rel, node.lineno, shown))
    return found


def test_the_front_ends_write_only_through_ops() -> None:
    assert [str(w) for w in writes(ROOT)] == []


def test_ops_holds_the_writes_the_front_ends_do_not() -> None:
    """The scan finds doors where they are: a scan that found nothing anywhere proves nothing."""
    doors = {w.door.rsplit(".", 1)[-1] for w in writes(ROOT, ("kutui/ops",))}
    assert {"update_registry", "add_credentials", "update", "record_results"} <= doors


@pytest.mark.parametrize(
    "planted",
    [
        "home.update_registry(lambda reg: None)",
        "self.kapp.home.record_results([])",
        "app.vault.update(lambda data: data.put('id', cred))",
        "atomic_write(path, b'x')",
        "with home.store() as store, store.write() as tx:\n        pass",
        "RotationStore(directory).save(checklist)",
        "from kutui.store.vault import Vault\n    Vault.create(path, passphrase=None)",
    ],
)
def test_a_planted_write_is_caught(tmp_path: Path, planted: str) -> None:
    for folder in FRONT_ENDS:
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "kutui/tui/planted.py").write_text(
        f"def action(home, app, path, directory, checklist, cred):\n    {planted}\n"
    )
    (tmp_path / "kutui/commands/fine.py").write_text(
        "def run(out, log):\n    out.write('x')\n    log.update(x=1)\n"
    )
    found = writes(tmp_path)
    assert found and all(w.path == "kutui/tui/planted.py" for w in found)
