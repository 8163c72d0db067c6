"""The layer contract (tests/layers.py, docs/architecture.md "Layers"), on the source and at run
time. ``make lint`` runs the same source checks (``python -m tests.layers``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.layers import RUNTIME, cycles, imports, offences, place

ROOT = Path(__file__).resolve().parent.parent


def test_every_module_keeps_to_its_rank() -> None:
    assert offences(ROOT) == []


def test_no_import_cycle_at_module_level() -> None:
    assert cycles(ROOT) == []


def test_no_import_cycle_through_lazy_imports_either() -> None:
    assert cycles(ROOT, RUNTIME) == []


def test_the_ranks_follow_design_md() -> None:
    ranks = {
        name: place(name)
        for name in (
            "kutui.cli",
            "kutui.commands.key",
            "kutui.tui.app",
            "kutui.ops.keys",  # reserved: ops/ does not exist yet
            "kutui.demo",
            "kutui.rotation.engine",
            "kutui.checks.audit",
            "kutui.kucoin.client",
            "kutui.store.vault",
            "kutui.hygiene",
            "kutui.model",
            "kutui",
        )
    }
    rank = {name: found.rank for name, found in ranks.items() if found is not None}
    assert len(rank) == len(ranks)
    assert rank["kutui.cli"] == rank["kutui.commands.key"] > rank["kutui.tui.app"]
    assert rank["kutui.tui.app"] > rank["kutui.ops.keys"] == rank["kutui.demo"]
    assert rank["kutui.ops.keys"] > rank["kutui.rotation.engine"] > rank["kutui.checks.audit"]
    assert rank["kutui.checks.audit"] > rank["kutui.kucoin.client"] == rank["kutui.store.vault"]
    assert rank["kutui.store.vault"] == rank["kutui.hygiene"] > rank["kutui.model"] == rank["kutui"]
    kucoin, store = ranks["kutui.kucoin.client"], ranks["kutui.store.vault"]
    assert kucoin is not None and store is not None and kucoin.group != store.group
    assert place("kutui.unplaced") is None  # the package entry stands for __init__ only


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_checker_names_every_kind_of_leak(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "kutui/__init__.py": "",
            "kutui/model.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from kutui.store.vault import Vault
            """,
            "kutui/kucoin/__init__.py": "",
            "kutui/kucoin/client.py": """
                def sign():
                    from kutui.store import vault
            """,
            "kutui/store/__init__.py": "",
            "kutui/store/vault.py": "import textual\n",
            "kutui/checks/__init__.py": "",
            "kutui/checks/audit.py": "from kutui.rotation.policy import rule\n",
            "kutui/rotation/__init__.py": "",
            "kutui/rotation/policy.py": "from . import engine\nrule = 1\n",
            "kutui/rotation/engine.py": """
                def run():
                    from kutui.rotation.policy import rule
            """,
            "kutui/stray.py": "",
        },
    )
    found = "\n".join(offences(root))
    assert "kutui.model [model (rank 0)] imports kutui.store.vault" in found
    assert "a higher layer (under TYPE_CHECKING)" in found
    assert "kutui.kucoin.client [kucoin (rank 1)] imports kutui.store.vault" in found
    assert "a peer layer (in a function)" in found
    assert "kutui/checks/audit.py:1: kutui.checks.audit" in found
    assert "imports textual (module level); only kutui.tui may" in found
    assert "kutui.stray has no row in the rank table" in found
    assert len(offences(root)) == 5
    assert cycles(root) == []  # engine imports policy only when run
    assert cycles(root, RUNTIME) == [["kutui.rotation.engine", "kutui.rotation.policy"]]
    relative = [i for i in imports(root) if i.source == "kutui.rotation.policy"]
    assert [i.target for i in relative] == ["kutui.rotation.engine"]


def test_lint_runs_the_layer_check() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "-m tests.layers" in lint


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["key", "list"],
        ["account", "list"],
        ["locate", "config"],
        ["passphrase"],
        ["completion", "bash"],
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
