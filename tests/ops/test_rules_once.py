"""Rules the CLI and the TUI used to hold twice (issue 12, "Why") are defined once in kutui, and
the front ends reach them rather than copy them: a scan of the source (AST)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kutui"


def _trees() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def definitions(name: str) -> list[str]:
    """Where ``name`` is bound at module level (assigned, or a def/class): a local variable or a
    dataclass field of the same name is not a second rule."""
    found: list[str] = []
    for rel, tree in _trees():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name == name:
                    found.append(f"{rel}:{node.lineno}")
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    found.append(f"{rel}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("ADVICE", "kutui/kucoin/diagnosis.py"),
        ("SUB_KEY_PERMISSIONS", "kutui/model.py"),
        ("build_targets", "kutui/checks/runner.py"),
        ("pool_hint", "kutui/checks/runner.py"),
        ("url_problem", "kutui/ops/accounts.py"),
        ("apply_to_key", "kutui/store/learn.py"),
        ("failing", "kutui/ops/checks.py"),
        ("refuse_duplicate", "kutui/ops/keys.py"),
    ],
)
def test_the_rule_is_defined_once(name: str, home: str) -> None:
    where = definitions(name)
    assert len(where) == 1 and where[0].startswith(home + ":"), where


def test_check_targets_are_built_in_one_place() -> None:
    """A front end that builds its own ``CheckTarget`` picks its own URL and rate pool (the TUI
    once paced by owner instead of uid)."""
    calls = [
        f"{rel}:{node.lineno}"
        for rel, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "CheckTarget"
    ]
    # kutui/checks/wire.py only decodes, in the engine's child process, targets runner.py built.
    builders = [c.split(":")[0] for c in calls if not c.startswith("kutui/checks/wire.py:")]
    assert builders == ["kutui/checks/runner.py"], calls


def test_a_second_definition_would_be_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan is not blind: a copy of ADVICE planted in a front end is reported."""
    package = tmp_path / "kutui"
    (package / "tui").mkdir(parents=True)
    (package / "model.py").write_text("ADVICE = {}\n")
    (package / "tui" / "badge.py").write_text("ADVICE: dict[str, str] = {}\n")
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "PACKAGE", package)
    assert definitions("ADVICE") == ["kutui/model.py:1", "kutui/tui/badge.py:1"]
