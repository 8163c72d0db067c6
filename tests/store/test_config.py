"""config.toml: strict validation naming the file and the key path; defaults when absent."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kutui.errors import ConfigError
from kutui.store.config import RULES, SECTIONS, Config, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
PACKAGED = ROOT / "kutui" / "data" / "config.example.toml"
CFG = Path("/x/config.toml")


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(CFG, text.encode())
    return info.value


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "config.toml") == Config()


def test_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[checks]\nconcurrency = 8\ntimeout_seconds = 3\n[vault]\nunlock = "passphrase"\n'
        '[kucoin]\napi_url = "http://127.0.0.1:8600"\n[keymap]\nquit = "ctrl+q"\n'
    )
    config = load_config(path)
    assert config.checks.concurrency == 8
    assert config.checks.timeout_seconds == 3.0 and isinstance(config.checks.timeout_seconds, float)
    assert config.vault.unlock == "passphrase"
    assert config.kucoin.api_url == "http://127.0.0.1:8600"
    assert config.keymap == {"quit": "ctrl+q"}


def test_notify_urls_are_read_as_a_tuple() -> None:
    text = b'[notify]\nurls = ["json://127.0.0.1:9/hook", "ntfy://ntfy.sh/topic"]\n'
    assert parse_config(CFG, text).notify.urls == (
        "json://127.0.0.1:9/hook",
        "ntfy://ntfy.sh/topic",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[checks]\nconcurrency = 0",
            "/x/config.toml: checks.concurrency: must be an integer from 1 to 512",
        ),
        ("[checks]\nconcurrency = 513", "checks.concurrency: must be an integer from 1 to 512"),
        ("[checks]\nconcurrency = true", "checks.concurrency: must be an integer, not true/false"),
        ("[checks]\nconcurrency = 1.5", "checks.concurrency: must be an integer, not a number"),
        ("[checks]\ntimeout_seconds = nan", "checks.timeout_seconds: must be a number from"),
        (
            '[checks]\ntimeout_seconds = "10"',
            "checks.timeout_seconds: must be a number, not a string",
        ),
        ("[checks]\nspeed = 1", "checks.speed: unknown setting"),
        ("[nope]\nx = 1", "nope: unknown section or setting"),
        ('theme = "x"', "theme: unknown section or setting"),
        ("checks = 3", "checks: must be a table"),
        ('[vault]\nunlock = "auto "', "vault.unlock: must be one of"),
        ('[vault]\nkdf = "pbkdf2"', "vault.kdf: must be one of"),
        ("[vault]\nargon2_memory_mib = 32", "vault.argon2_memory_mib: must be an integer from 64"),
        ("[vault]\nargon2_iterations = 2", "vault.argon2_iterations: must be an integer from 3"),
        ('[kucoin]\napi_url = "ftp://api.kucoin.com"', "kucoin.api_url: must be http(s)://host"),
        ('[kucoin]\napi_url = "https://"', "kucoin.api_url: must be http(s)://host"),
        ('[kucoin]\napi_url = "https://u:p@h"', "kucoin.api_url: must be http(s)://host"),
        ('[kucoin]\napi_url = "https://h/api"', "kucoin.api_url: must be http(s)://host"),
        ('[kucoin]\napi_url = "https://h:99999"', "kucoin.api_url: has an invalid port"),
        ('[ui]\ntheme = "../etc"', "ui.theme: must be a theme name"),
        ('[ui]\nmouse = "yes"', "ui.mouse: must be true or false, not a string"),
        ("[keymap]\nquit = 3", "keymap.quit: must be a non-empty string"),
        ("[checks]\nconcurrency = 4\nconcurrency = 5", "is not valid TOML"),
        ("[checks\n", "(at line 1, column"),
        ('[notify]\nurls = "json://h"', "notify.urls: must be an array of strings, not a string"),
        ("[notify]\nurls = [1]", "notify.urls: must be an array of strings"),
        ('[notify]\nurls = ["no scheme"]', "notify.urls: must be Apprise URLs"),
        ('[notify]\nurls = ["json://h\\u001b[2J"]', "notify.urls: must be Apprise URLs"),
    ],
)
def test_bad_config_names_file_and_key(text: str, message: str) -> None:
    assert message in str(_error(text))


def test_syntax_error_reports_line_and_column() -> None:
    error = _error("[ui]\nmouse = true\n\n[checks]\nconcurrency = = 3\n")
    assert "(at line 5, column" in str(error)
    assert str(error).startswith("/x/config.toml: is not valid TOML")


def test_non_utf8_is_reported() -> None:
    assert "is not UTF-8" in str(_bad_bytes())


def _bad_bytes() -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(CFG, b'[ui]\ntheme = "\xff"\n')
    return info.value


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path / "config.toml")


@given(st.integers())
def test_concurrency_range(value: int) -> None:
    text = f"[checks]\nconcurrency = {value}\n".encode()
    if 1 <= value <= 512:
        assert parse_config(CFG, text).checks.concurrency == value
    else:
        with pytest.raises(ConfigError, match="checks.concurrency"):
            parse_config(CFG, text)


def test_every_numeric_setting_has_a_range() -> None:
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.type in ("int", "float"):
                assert f"{name}.{f.name}" in RULES, f"{name}.{f.name} has no range"


def test_defaults_pass_their_own_rules() -> None:
    defaults = Config()
    for key_path, rule in RULES.items():
        section, key = key_path.split(".")
        assert rule(getattr(getattr(defaults, section), key)) is None, key_path


def test_example_is_shipped_identically() -> None:
    assert EXAMPLE.read_bytes() == PACKAGED.read_bytes()


def test_example_documents_every_setting_with_its_default() -> None:
    text = EXAMPLE.read_text()
    assert parse_config(CFG, text.encode()) == Config()  # all commented: defaults
    uncommented = re.sub(r"^# (\w+ = .*)$", r"\1", text, flags=re.M)
    config = parse_config(CFG, uncommented.encode())
    assert dataclasses.replace(config, keymap={}) == Config()
    for name, cls in SECTIONS.items():
        section = text.split(f"[{name}]", 1)[1]
        for f in dataclasses.fields(cls):
            assert re.search(rf"^# {f.name} = ", section, flags=re.M), f"{name}.{f.name}"


def test_argon2_memory_times_passes_over_the_vault_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[vault]\nargon2_memory_mib = 1024\nargon2_iterations = 4\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: vault.argon2_iterations: argon2id memory x")
