"""``kutui completion bash|zsh|fish`` and the hidden ``kutui __complete``: real bash runs the
script's completion function the way readline would (COMP_WORDS / COMP_CWORD) and gets
subcommands, options and key references read from kutui.db, with no vault and no prompt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kutui.cli import build_parser, main
from kutui.commands.completion import SCRIPTS, candidates
from kutui.model import Account, ApiKey, KeyRef, Registry, SubAccount
from kutui.store.home import Home

BIN = Path(sys.executable).parent
KEYS = ("main/trading", "main/bots/grid", "main/bots/dca", "side/hedge")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir(mode=0o700)

    def fill(reg: Registry) -> None:
        reg.accounts = [Account("main", subaccounts=[SubAccount("bots")]), Account("side")]
        reg.keys = [ApiKey(f"id{i}", KeyRef.parse(ref)) for i, ref in enumerate(KEYS)]

    Home.load(root).update_registry(fill)
    return root


def bash_complete(home: Path, tmp_path: Path, *words: str) -> list[str]:
    """COMPREPLY after the bash script completes the last of ``words`` (``kutui`` first)."""
    script = tmp_path / "kutui.bash"
    done = subprocess.run(
        [str(BIN / "kutui"), "completion", "bash"], capture_output=True, text=True, check=True
    )
    script.write_text(done.stdout)
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMP_LINE={quoted!s}\n"
        "_kutui\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = _shell_env(home, tmp_path)
    ran = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return [line for line in ran.stdout.splitlines() if line]


def test_bash_completes_subcommands_options_and_key_references(home: Path, tmp_path: Path) -> None:
    assert shutil.which("bash"), "bash is needed for this test"
    assert bash_complete(home, tmp_path, "kutui", "ch") == ["check"]
    assert bash_complete(home, tmp_path, "kutui", "check", "--pro") == ["--prometheus"]
    assert bash_complete(home, tmp_path, "kutui", "rotate", "main/b") == [
        "main/bots/grid",
        "main/bots/dca",
    ]
    # check takes keys, accounts and sub-accounts
    assert bash_complete(home, tmp_path, "kutui", "check", "--all", "s") == ["side/hedge", "side"]
    assert bash_complete(home, tmp_path, "kutui", "key", "l") == ["list"]
    assert bash_complete(home, tmp_path, "kutui", "completion", "") == ["bash", "zsh", "fish"]
    # --home given on the line wins over $KUTUI_HOME; a home without a database completes nothing
    empty = tmp_path / "empty"
    assert bash_complete(home, tmp_path, "kutui", "--home", str(empty), "rotate", "") == []
    assert not empty.exists()  # completing never creates a home


def _shell_env(home: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "KUTUI_HOME": str(home),
        "LANG": "C.UTF-8",
    }


# zsh and fish without a terminal: their completion builtins are stubbed to print what the script
# hands them (compadd's words; commandline's tokens), the rest is the real script and helper.
ZSH_PROGRAM = """
compdef() { :; }
compadd() { while [[ $1 != -- ]]; do shift; done; shift; printf '%s\\n' "$@"; }
_files() { echo FILES; }
source {script}
words=(kutui ch); CURRENT=2; _kutui
words=(kutui rotate main/b); CURRENT=3; _kutui
words=(kutui check --prometheus ''); CURRENT=4; _kutui
"""
FISH_PROGRAM = """
function commandline
    if contains -- -ct $argv; printf '%s\\n' $cur; else; printf '%s\\n' $line; end
end
source {script}
set -g line kutui; set -g cur ch; __kutui_complete
set -g line kutui rotate; set -g cur main/b; __kutui_complete
set -g line kutui completion; set -g cur ''; __kutui_complete
"""


@pytest.mark.parametrize(
    ("shell", "program", "expected"),
    [
        ("zsh", ZSH_PROGRAM, ["check", "main/bots/grid", "main/bots/dca", "FILES"]),
        ("fish", FISH_PROGRAM, ["check", "main/bots/grid", "main/bots/dca", "bash", "zsh", "fish"]),
    ],
)
def test_zsh_and_fish_scripts_complete_too(
    shell: str, program: str, expected: list[str], home: Path, tmp_path: Path
) -> None:
    path = shutil.which(shell)
    if path is None:
        # .ci/run installs both shells, so CI always runs this.
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{shell} is required in CI (.ci/run installs it)")
        pytest.skip(f"{shell} is not installed (bash, always tested, carries the contract)")
    script = tmp_path / f"kutui.{shell}"
    script.write_text(SCRIPTS[shell])
    argv = [path, "-f", "-c"] if shell == "zsh" else [path, "--no-config", "-c"]
    ran = subprocess.run(
        [*argv, program.replace("{script}", str(script))],
        capture_output=True,
        text=True,
        env=_shell_env(home, tmp_path),
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == expected


def test_the_hidden_helper_is_not_listed_and_needs_no_vault(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--help"]) == 0
    assert "__complete" not in capsys.readouterr().out
    assert main(["nosuch"]) == 2
    assert "__complete" not in capsys.readouterr().err
    assert main(["__complete", "--", "--home", str(home), "key", "remove", "main/"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == ["main/trading", "main/bots/grid", "main/bots/dca"]
    assert out.err == ""


def test_the_helper_never_imports_textual(home: Path) -> None:
    code = (
        "import sys\n"
        "from kutui.cli import main\n"
        f"main(['__complete', '--', '--home', {str(home)!r}, 'check', ''])\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "main/bots/grid" in done.stdout.split()


def test_file_options_ask_the_shell_for_file_names(home: Path) -> None:
    parser = build_parser()
    assert candidates(parser, ["check", "--prometheus", ""], home=str(home)) == ["@files"]
    assert candidates(parser, ["--home", "/tm"], home=None) == ["@files"]
    assert candidates(parser, ["locate", "d"], home=None) == ["data", "db"]


def test_a_tampered_database_name_never_reaches_the_shell(home: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(home / "kutui.db")
    conn.execute("UPDATE keys SET label = 'x; rm -rf ~' WHERE id = 'id0'")
    conn.commit()
    conn.close()
    got = candidates(build_parser(), ["rotate", ""], home=str(home))
    assert got == ["main/bots/grid", "main/bots/dca", "side/hedge"]


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_every_script_is_printed_and_calls_the_helper(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "__complete --" in script
    if shutil.which(shell):  # bash on every CI runner; zsh and fish where installed
        check = subprocess.run(
            [shutil.which(shell) or shell, "-n"], input=script, text=True, capture_output=True
        )
        assert check.returncode == 0, check.stderr
