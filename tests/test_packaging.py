"""The wheel works as ``pipx install`` uses it: built with ``python -m build`` (no deprecation
warning from setuptools), installed into a fresh venv, run from a directory that is not the
source tree: ``kutui --version``, ``python -m kutui --version``, ``kutui demo --help``, and the
bundled themes, JSON Schemas and example config come from the installed package.

Offline and fast: the build uses this venv's setuptools (``--no-isolation``; both are in the
test extras), and the fresh venv reaches the dependencies (textual, httpx...) through a ``.pth``
line pointing at this venv's site-packages, while kutui itself is installed from the wheel only
(``--no-deps``). A ``.pth`` line adds a directory, not a site dir: this venv's editable kutui
(its own ``.pth`` finder) is not seen there, so every import below is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from kutui import __version__

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "README.md")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KUTUI_", "PIP_"))}
    env.update(
        HOME=str(tmp / "user"),
        KUTUI_HOME=str(tmp / "kutui-home"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INDEX="1",
    )
    return env


@pytest.mark.slow
def test_the_built_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    (tmp_path / "user").mkdir()
    # A copy of the sources: the build writes build/ and *.egg-info next to them.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "kutui", src / "kutui", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), "."],
        cwd=src,
        env=env,
    )
    log = built.stdout + built.stderr
    assert "deprecat" not in log.lower(), (
        log
    )  # e.g. the TOML-table `license` setuptools warns about
    (wheel,) = dist.glob("kutui-*.whl")
    assert wheel.name.startswith(f"kutui-{__version__}-py3-none-any")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "kutui/py.typed",
        "kutui/tui/app.tcss",
        "kutui/data/config.example.toml",
        "kutui/data/themes/kucoin-dark.toml",
        "kutui/data/schemas/check.schema.json",
    ):
        assert data in names, data
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    Path(purelib, "kutui-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
        cwd=tmp_path,
        env=env,
    )

    elsewhere = tmp_path / "elsewhere"  # not the source tree: nothing to import by accident
    elsewhere.mkdir()
    kutui = str(venv / "bin" / "kutui")
    assert _run([kutui, "--version"], elsewhere, env).stdout.strip() == f"kutui {__version__}"
    assert _run([str(python), "-m", "kutui", "--version"], elsewhere, env).stdout.strip() == (
        f"kutui {__version__}"
    )
    assert "usage: kutui demo" in _run([kutui, "demo", "--help"], elsewhere, env).stdout
    probe = (
        "import json, kutui, kutui.tui.themes as t\n"
        "from importlib import resources\n"
        "themes, failed = t.load_themes()\n"
        "folder = resources.files('kutui') / 'data' / 'schemas'\n"
        "schemas = sorted(p.name for p in folder.iterdir())\n"
        "print(json.dumps({'file': kutui.__file__, 'themes': sorted(x.name for x in themes),\n"
        "  'failed': [str(f) for f in failed], 'dir': str(t.BUNDLED_THEMES_DIR),\n"
        "  'schemas': schemas}))\n"
    )
    import json

    seen = json.loads(_run([str(python), "-c", probe], elsewhere, env).stdout)
    assert seen["file"].startswith(purelib), seen  # the wheel's kutui, not the source tree's
    assert seen["dir"].startswith(purelib), seen
    assert seen["themes"] == sorted(["kucoin-dark", "kucoin-light", "high-contrast"])
    assert seen["failed"] == []
    assert "check.schema.json" in seen["schemas"]
