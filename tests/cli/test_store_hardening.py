"""The store hardening items seen from the command line: unsafe homes, vault entries that cannot
be used, crashes between the vault and the registry writes, ``vault passwd``'s fresh data key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli


@pytest.mark.parametrize("mode", [0o1777, 0o775])
def test_an_unsafe_home_is_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, pw_file: Path, mode: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    result = cli("--home", str(shared), "--passphrase-file", str(pw_file), "init", bare=True)
    assert result.code == 2
    assert result.err.count("\n") == 1 and f"{shared}: has mode {mode:04o}" in result.err
    assert "Traceback" not in result.err
    assert (shared.stat().st_mode & 0o7777) == mode and list(shared.iterdir()) == []
