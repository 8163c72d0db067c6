"""Theme files: bundled ones load, bad ones are reported by file and key, the app falls back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.color import Color, ColorParseError

from kutui.demo import Demo
from kutui.errors import ConfigError
from kutui.tui.themes import (
    BUNDLED_THEME_NAMES,
    BUNDLED_THEMES_DIR,
    KUTUI_VARIABLE_DEFAULTS,
    load_theme_dir,
    load_themes,
    parse_theme,
)

from .conftest import make_app

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"


def test_bundled_themes_load_and_define_every_kutui_variable() -> None:
    themes, failed = load_theme_dir(BUNDLED_THEMES_DIR)
    assert failed == []
    assert {t.name for t in themes} == set(BUNDLED_THEME_NAMES)
    for theme in themes:
        assert set(KUTUI_VARIABLE_DEFAULTS) <= set(theme.variables)


def test_repo_theme_examples_match_the_packaged_copies() -> None:
    # themes/ is what users browse; kutui/data/themes/ is what an installed wheel loads.
    for name in BUNDLED_THEME_NAMES:
        packaged = (BUNDLED_THEMES_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert (REPO_THEMES / f"{name}.toml").read_text(encoding="utf-8") == packaged


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('primary = "#fff"\nsparkle = true\n', "sparkle", "unknown theme key"),
        ('primary = "not-a-colour"\n', "primary", "is not a colour"),
        ("dark = true\n", "primary", "missing"),
        ('primary = "#fff"\ndark = "yes"\n', "dark", "true or false"),
        (
            'primary = "#fff"\n[variables]\n"kutui-status-ok" = "blurple"\n',
            "variables.kutui-status-ok",
            "is not a colour",
        ),
        ('primary = "#fff"\ntext_alpha = 3\n', "text_alpha", "from 0 to 1"),
    ],
)
def test_bad_theme_names_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = tmp_path / "mine.toml"
    with pytest.raises(ConfigError) as caught:
        parse_theme(path, text)
    assert caught.value.key == key
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_invalid_toml_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("primary = \n", encoding="utf-8")
    (tmp_path / "fine.toml").write_text('primary = "#123456"\n', encoding="utf-8")
    loaded, failed = load_theme_dir(tmp_path)
    assert [t.name for t in loaded] == ["fine"]  # the name defaults to the file stem
    assert len(failed) == 1 and "broken.toml" in str(failed[0])


@settings(max_examples=80, deadline=None)
@given(value=st.one_of(st.text(max_size=20), st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)))
def test_any_colour_text_loads_or_is_a_config_error(value: str) -> None:
    text = tomli_w.dumps({"primary": value})
    try:
        Color.parse(value)
    except ColorParseError:
        with pytest.raises(ConfigError) as caught:
            parse_theme(Path("t.toml"), text)
        assert caught.value.key == "primary"
    else:
        assert parse_theme(Path("t.toml"), text).primary == value


def test_user_theme_replaces_nothing_it_does_not_name(tmp_path: Path) -> None:
    (tmp_path / "night.toml").write_text('primary = "#336699"\n', encoding="utf-8")
    themes, failed = load_themes([tmp_path])
    assert not failed
    names = [t.name for t in themes]
    assert "night" in names and set(BUNDLED_THEME_NAMES) <= set(names)


async def test_broken_user_theme_gives_one_toast_and_the_app_runs(demo: Demo) -> None:
    themes = demo.home.paths.themes_dir
    themes.mkdir(parents=True, exist_ok=True)
    (themes / "a.toml").write_text('primary = "nope"\n', encoding="utf-8")
    (themes / "b.toml").write_text("= broken", encoding="utf-8")
    app = make_app(demo)
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert len(toasts) == 1
        assert "Failed to load 2 themes" in toasts[0]
        assert "a.toml" in toasts[0] and "b.toml" in toasts[0]
        assert app.theme == "kucoin-dark"


async def test_unknown_configured_theme_falls_back(demo: Demo) -> None:
    demo.home.config = replace(demo.home.config, ui=replace(demo.home.config.ui, theme="nope"))
    app = make_app(demo)
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == "kucoin-dark"
        assert any("'nope' is not known" in n.message for n in app._notifications)


async def test_configured_theme_dir_is_used(demo: Demo, tmp_path: Path) -> None:
    mine = tmp_path / "my-themes"
    mine.mkdir()
    (mine / "mine.toml").write_text('primary = "#AA3377"\ndark = false\n', encoding="utf-8")
    ui = replace(demo.home.config.ui, theme="mine", theme_dir=str(mine))
    demo.home.config = replace(demo.home.config, ui=ui)
    app = make_app(demo)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "mine"
        # A theme without kutui variables still gets them (CSS would not parse otherwise).
        assert app.theme_colors["kutui-status-bad"] == KUTUI_VARIABLE_DEFAULTS["kutui-status-bad"]
