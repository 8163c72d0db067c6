"""The layer rules of design.md, checked on the source and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kutui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def test_textual_is_imported_only_under_tui() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _modules(PACKAGE)
        if "tui" not in path.relative_to(PACKAGE).parts[:1]
        and any(name == "textual" or name.startswith("textual.") for name in _imports(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("layer", ["kucoin", "store"])
def test_lower_layers_do_not_import_upper_ones(layer: str) -> None:
    upper = ("kutui.checks", "kutui.rotation", "kutui.tui", "kutui.commands", "kutui.cli")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(PACKAGE / layer)
        for name in _imports(path)
        if name.startswith(upper)
    ]
    assert offenders == []


def test_plain_modules_import_no_layer_above_them() -> None:
    layers = ("kutui.store", "kutui.kucoin", "kutui.checks", "kutui.rotation", "kutui.tui")
    offenders = [
        f"{name} imports {imported}"
        for name in ("model", "secret", "errors", "paths", "redact")
        for imported in _imports(PACKAGE / f"{name}.py")
        if imported.startswith(layers)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["key", "list"],
        ["account", "list"],
        ["locate", "config"],
    ],
)
def test_headless_commands_never_import_textual(argv: list[str], tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from kutui.cli import main\n"
        "try:\n"
        f"    main(['--home', {str(tmp_path)!r}, *{argv!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
