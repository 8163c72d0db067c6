"""Process hardening at start (no core dumps, not ptrace-able) and the home safety review."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kutui.hygiene import check_home, harden_process, warn_about_home
from kutui.paths import Paths
from tests.faults.disk import changes, snapshot

CHILD = """
import resource, sys
from kutui.hygiene import harden_process, is_dumpable
before = is_dumpable()
result = harden_process()
print(before, is_dumpable(), resource.getrlimit(resource.RLIMIT_CORE), result.core_dumps_off,
      result.not_dumpable)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_hardened_process_cannot_dump_core_or_be_traced() -> None:
    # In a child: a non-dumpable pytest process would lose its own /proc/self access.
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out == ["True", "False", "(0,", "0)", "True", "True"]


def test_harden_process_survives_a_platform_without_prctl(monkeypatch: pytest.MonkeyPatch) -> None:
    import kutui.hygiene as hygiene

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(hygiene, "_disable_core_dumps", lambda: True)  # keep pytest's own rlimit
    assert harden_process() == hygiene.Hardening(core_dumps_off=True, not_dumpable=False)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    for name in ("config.toml", "accounts.toml", "vault.kv1"):
        (root / name).write_bytes(b"x")
        (root / name).chmod(0o600)
    (root / "rotations").mkdir(mode=0o700)
    (root / "rotations" / "r1.toml").write_bytes(b"x")
    (root / "rotations" / "r1.toml").chmod(0o600)
    return Paths.resolve(root)


def test_a_private_home_has_no_warning(paths: Paths) -> None:
    assert check_home(paths) == []


def test_a_missing_home_has_no_warning(tmp_path: Path) -> None:
    assert check_home(Paths.resolve(tmp_path / "nothing-yet")) == []


@pytest.mark.parametrize(
    ("name", "mode", "shown"),
    [
        ("vault.kv1", 0o644, "0644"),
        ("accounts.toml", 0o640, "0640"),
        ("rotations/r1.toml", 0o606, "0606"),
        ("rotations", 0o755, "0755"),
        (".", 0o777, "0777"),
    ],
)
def test_group_or_world_access_is_named_with_its_mode(
    paths: Paths, name: str, mode: int, shown: str
) -> None:
    target = paths.data_dir / name
    target.chmod(mode)
    problems = check_home(paths)
    assert len(problems) == 1
    assert str(target.resolve() if name == "." else target) in problems[0]
    assert shown in problems[0]


def test_a_symlinked_file_is_reported_and_not_followed(paths: Paths, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.toml").write_bytes(b"x")
    (outside / "secret.toml").chmod(0o644)  # would be reported if the link were followed
    (paths.data_dir / "accounts.toml").unlink()
    (paths.data_dir / "accounts.toml").symlink_to(outside / "secret.toml")
    (paths.data_dir / "linked-dir").symlink_to(outside)
    problems = check_home(paths)
    assert sorted(problems) == sorted(
        [
            f"{paths.data_dir / 'accounts.toml'} is a symbolic link",
            f"{paths.data_dir / 'linked-dir'} is a symbolic link",
        ]
    )


def test_a_file_owned_by_someone_else_is_reported(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.getuid() == 0:
        os.chown(paths.data_dir / "vault.kv1", 65534, 65534)
        problems = check_home(paths)
    else:  # cannot give a file away: pretend to be another user instead
        me = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: me + 1)
        problems = check_home(paths)
        assert len(problems) > 1  # every file is "someone else's" now
        problems = [p for p in problems if "vault.kv1" in p]
    assert problems == [
        f"{paths.data_dir / 'vault.kv1'} is owned by uid "
        f"{(paths.data_dir / 'vault.kv1').lstat().st_uid}, not by you"
    ]


def test_warnings_go_to_stderr_one_per_line(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    (paths.data_dir / "vault.kv1").chmod(0o644)
    (paths.data_dir / "config.toml").chmod(0o604)
    assert len(warn_about_home(paths)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("kutui: warning: ") for line in lines)


def test_check_home_changes_nothing(paths: Paths) -> None:
    (paths.data_dir / "vault.kv1").chmod(0o644)
    before = snapshot(paths.data_dir)
    check_home(paths)
    assert changes(before, snapshot(paths.data_dir)) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_every_kutui_command_runs_hardened(tmp_path: Path) -> None:
    script = (
        "import resource\n"
        "from kutui.cli import main\n"
        "from kutui.hygiene import is_dumpable\n"
        f"code = main(['--home', {str(tmp_path / 'h')!r}, 'locate', 'vault'])\n"
        "print(code, is_dumpable(), resource.getrlimit(resource.RLIMIT_CORE))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines()[-1] == "0 False (0, 0)"


def test_theme_files_are_not_reported_whatever_their_mode(tmp_path: Path) -> None:
    from kutui.hygiene import check_home
    from kutui.paths import Paths

    paths = Paths.resolve(tmp_path)
    paths.themes_dir.mkdir(parents=True)
    theme = paths.themes_dir / "mine.toml"
    theme.write_text('primary = "#112233"\n')
    theme.chmod(0o644)
    config = paths.config
    config.write_text("")
    config.chmod(0o644)
    problems = check_home(paths)
    assert not any("mine.toml" in p for p in problems)
    assert any("config.toml" in p for p in problems)
