"""``kutui COMMAND ...`` is parsed by a parser holding that command's module only (kutui/cli.py,
``parser_for``): every command line must parse, print and exit as with the whole parser."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
from pathlib import Path

import pytest

from kutui import cli as cli_module


def test_command_names_are_what_the_modules_register() -> None:
    registered: dict[str, str] = {}
    for name in cli_module.COMMAND_MODULES:
        if not cli_module._available(name):
            continue
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    assert registered == cli_module.COMMAND_NAMES


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["key", "list"], "kutui.commands.key"),
        (["--home", "key", "check", "x"], "kutui.commands.check"),  # a home named "key"
        (["--home=/h", "--debug", "locate", "vault"], "kutui.commands.locate"),
        (["--ho", "/h", "--pa", "/p", "--d", "export"], "kutui.commands.registry_cmd"),
        (["--passphrase-file", "/p", "deliver"], "kutui.commands.consumer"),
        (["demo"], "kutui.commands.tui"),
        ([], None),
        (["--debug"], None),
        (["--help", "key"], None),
        (["-h"], None),
        (["--version"], None),
        (["--h", "/h", "key"], None),  # ambiguous (--help, --home): argparse's error
        (["--debug=1", "key"], None),
        (["--", "key"], None),
        (["--bogus", "key"], None),
        (["no-such-command"], None),
        (["-", "key"], None),
    ],
)
def test_command_module(argv: list[str], module: str | None) -> None:
    assert cli_module.command_module(argv) == module


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_module.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["key"],
        ["key", "--help"],
        ["key", "list", "--bogus"],
        ["key", "list", "--json"],
        ["key", "list", "--json", "--home", "elsewhere"],
        ["check", "--help"],
        ["check"],
        ["check", "--concurrency", "x", "main/bot"],
        ["export", "--format", "xml"],
        ["import-registry"],
        ["vault"],
        ["locate", "vault"],
        ["locate", "nothing"],
        ["--debug", "locate", "config"],
        ["rotate", "--help"],
        ["--home", "key", "list"],
    ],
)
def test_one_module_parses_as_the_whole_parser(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    monkeypatch.chdir(tmp_path)
    full_argv = ["--home", str(home), *argv]
    one = run(full_argv)
    with monkeypatch.context() as patch:
        patch.setattr(cli_module, "command_module", lambda argv: None)
        whole = run(full_argv)
    assert one == whole
    if one[0] == 0 and "--help" not in argv:
        parsed = vars(cli_module.parser_for(full_argv).parse_args(full_argv))
        assert parsed == vars(cli_module.build_parser().parse_args(full_argv))
