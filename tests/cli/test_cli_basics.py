"""The CLI's contract: exit codes, one-line errors, no tracebacks unless --debug."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kutui import cli as cli_module
from kutui.errors import UsageError
from tests.cli.conftest import Cli


def test_bad_argv_exits_2(cli: Cli) -> None:
    result = cli("no-such-command")
    assert result.code == 2
    assert "invalid choice" in result.err


def test_unknown_option_exits_2(cli: Cli) -> None:
    assert cli("key", "list", "--bogus").code == 2


def test_version_exits_0(cli: Cli) -> None:
    result = cli("--version", bare=True)
    assert result.code == 0
    assert result.out.startswith("kutui ")


def test_help_lists_the_commands(cli: Cli) -> None:
    result = cli("--help", bare=True)
    assert result.code == 0
    for command in ("init", "account", "key", "vault", "locate", "doctor"):
        assert command in result.out


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[checks]\nconcurency = 4\n", "checks.concurency", "unknown setting"),
        ('[checks]\nconcurrency = "many"\n', "checks.concurrency", "must be an integer"),
        ("[checks]\nconcurrency = 0\n", "checks.concurrency", "from 1 to 512"),
        ('[vault]\nunlock = "magic"\n', "vault.unlock", "'auto', 'keyring', 'passphrase'"),
        ('[kucoin]\napi_url = "api.kucoin.com"\n', "kucoin.api_url", "http(s)://host"),
        ("[ui]\nmouse = 1\n", "ui.mouse", "true or false"),
        ("[checks\n", "", "line 1, column"),
    ],
)
def test_bad_config_is_one_line_exit_2(
    cli: Cli, home: Path, text: str, key: str, problem: str
) -> None:
    config = home / "config.toml"
    config.write_text(text)
    result = cli("key", "list")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"kutui: {config}: ")
    assert key in lines[0] and problem in lines[0]
    assert "Traceback" not in result.err
    assert config.read_text() == text  # never rewritten


def test_kutui_error_is_one_line(cli: Cli) -> None:
    result = cli("key", "remove", "main/none", "--yes")
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert result.err.startswith("kutui: no key main/none")


def _boom(args: argparse.Namespace) -> int:
    hidden = "local-value-that-must-not-print"  # noqa: F841 - a local the traceback must not show
    raise RuntimeError("boom")


def _interrupted(args: argparse.Namespace) -> int:
    raise KeyboardInterrupt


def _usage(args: argparse.Namespace) -> int:
    raise UsageError("bad thing")


def _with_func(monkeypatch: pytest.MonkeyPatch, func: object) -> None:
    original = cli_module.build_parser

    def build() -> argparse.ArgumentParser:
        parser = original()
        parser.set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli_module, "build_parser", build)


def test_unexpected_error_hints_at_debug(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_func(monkeypatch, _boom)
    result = cli()
    assert result.code == cli_module.EXIT_INTERNAL == 70
    assert result.err.strip() == (
        "kutui: unexpected error: RuntimeError: boom (run with --debug for a traceback)"
    )


def test_debug_traceback_has_no_locals(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_func(monkeypatch, _boom)
    result = cli("--debug")
    assert "Traceback (most recent call last)" in result.err
    assert "_boom" in result.err
    assert "local-value-that-must-not-print" not in result.err


def test_keyboard_interrupt_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_func(monkeypatch, _interrupted)
    assert cli().code == 130


def test_usage_error_exit_code(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_func(monkeypatch, _usage)
    result = cli()
    assert (result.code, result.err) == (2, "kutui: bad thing\n")


def test_missing_command_modules_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    modules = (*cli_module.COMMAND_MODULES, "kutui.commands.nope")
    monkeypatch.setattr(cli_module, "COMMAND_MODULES", modules)
    parser = cli_module.build_parser()
    assert parser.parse_args(["locate", "vault"]).what == "vault"


@pytest.mark.parametrize("what", ["config", "data", "state", "vault", "themes"])
def test_locate(cli: Cli, home: Path, what: str) -> None:
    result = cli("locate", what)
    assert result.code == 0
    expected = {"config": "config.toml", "vault": "vault.kv1", "themes": "themes"}
    assert result.out.strip() == str(home / expected.get(what, ""))


def test_locate_works_with_a_broken_config(cli: Cli, home: Path) -> None:
    (home / "config.toml").write_text("[[[")
    assert cli("locate", "config").code == 0
