"""Themes from TOML files: the bundled ones (package data) and the user's own.

One theme per file; top-level keys are ``textual.theme.Theme`` fields, a ``[variables]`` table holds
extra CSS variables, and an optional ``[meta]`` table is ignored. Every colour is parsed with
``Color.parse`` so an error names the file and the key; problems are collected, not raised, so
the app can show them in one toast and fall back to a built-in theme.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from kutui.errors import ConfigError
from kutui.store.tomlfields import parse_toml

BUNDLED_THEMES_DIR = Path(__file__).resolve().parent.parent / "data" / "themes"
DEFAULT_THEME = "kucoin-dark"
BUNDLED_THEME_NAMES = ("kucoin-dark", "kucoin-light", "high-contrast")

#: Defaults for every ``$kutui-*`` CSS variable, so a user theme that omits them still parses.
KUTUI_VARIABLE_DEFAULTS: dict[str, str] = {
    "kutui-status-ok": "#2EBD85",
    "kutui-status-warn": "#F0B90B",
    "kutui-status-bad": "#F6465D",
    "kutui-status-unknown": "#848E9C",
    "kutui-drift": "#F0B90B",
}

#: A Python copy of kucoin-dark: used when even the bundled files cannot be read.
FALLBACK_THEME = Theme(
    name=DEFAULT_THEME,
    primary="#23AF91",
    secondary="#1B8A72",
    accent="#F0B90B",
    foreground="#EAECEF",
    background="#0B0E11",
    surface="#161A1E",
    panel="#1E2329",
    success="#2EBD85",
    warning="#F0B90B",
    error="#F6465D",
    dark=True,
    variables=dict(KUTUI_VARIABLE_DEFAULTS),
)

_COLOR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_BOOL_FIELDS = ("dark", "ansi")
_FLOAT_FIELDS = ("luminosity_spread", "text_alpha")
_KNOWN = {f.name for f in dataclasses.fields(Theme)} | {"meta"}


def _is_color_variable(name: str) -> bool:
    # Textual variables such as "block-cursor-text-style" hold styles, not colours.
    return not name.endswith("text-style")


def parse_theme(path: Path, content: bytes | str) -> Theme:
    """Build a Theme from one TOML file's content; ConfigError names the file and the key."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    data = parse_toml(path, raw, ConfigError)
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ConfigError(path, "unknown theme key", key=unknown[0])
    data.pop("meta", None)
    name = data.setdefault("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(path, "must be a non-empty string", key="name")
    if "primary" not in data:
        raise ConfigError(path, "missing (every theme needs a primary colour)", key="primary")
    for key in _COLOR_FIELDS:
        if key in data:
            _check_color(path, key, data[key])
    for key in _BOOL_FIELDS:
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(path, "must be true or false", key=key)
    for key in _FLOAT_FIELDS:
        value = data.get(key, 0.5)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(path, "must be a number from 0 to 1", key=key)
        if key in data:
            data[key] = float(value)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ConfigError(path, "must be a table of name = value", key="variables")
    for var, value in variables.items():
        if not isinstance(value, str):
            raise ConfigError(path, "must be a string", key=f"variables.{var}")
        if _is_color_variable(var):
            _check_color(path, f"variables.{var}", value)
    data["variables"] = {**KUTUI_VARIABLE_DEFAULTS, **variables}
    return Theme(**data)


def _check_color(path: Path, key: str, value: object) -> None:
    if not isinstance(value, str):
        raise ConfigError(path, 'must be a colour string such as "#23AF91"', key=key)
    try:
        Color.parse(value)
    except ColorParseError:
        raise ConfigError(path, f"{value!r} is not a colour", key=key) from None


def load_theme_dir(directory: Path) -> tuple[list[Theme], list[ConfigError]]:
    """Every ``*.toml`` in ``directory`` (sorted); a missing directory is simply empty."""
    loaded: list[Theme] = []
    failed: list[ConfigError] = []
    if not directory.is_dir():
        return loaded, failed
    for path in sorted(directory.glob("*.toml")):
        try:
            loaded.append(parse_theme(path, path.read_bytes()))
        except ConfigError as exc:
            failed.append(exc)
        except OSError as exc:
            failed.append(ConfigError(path, f"cannot be read: {exc.strerror or exc}"))
    return loaded, failed


def load_themes(user_dirs: Iterable[Path] = ()) -> tuple[list[Theme], list[ConfigError]]:
    """Bundled themes first, then each user directory (a same-named user theme replaces it)."""
    themes, failed = load_theme_dir(BUNDLED_THEMES_DIR)
    if not any(t.name == DEFAULT_THEME for t in themes):
        themes.insert(0, FALLBACK_THEME)
    for directory in user_dirs:
        more, bad = load_theme_dir(directory)
        themes.extend(more)
        failed.extend(bad)
    return themes, failed


def problems_message(failed: list[ConfigError]) -> str:
    """One toast's text for every theme that failed to load."""
    noun = "theme" if len(failed) == 1 else "themes"
    lines = [f"Failed to load {len(failed)} {noun}:"]
    lines.extend(f"• {err}" for err in failed)
    return "\n".join(lines)


def choose_theme(available: Iterable[str], wanted: str) -> tuple[str, str]:
    """(the theme to use, "" or why ``wanted`` is not it): an unknown name falls back to
    ``DEFAULT_THEME``, naming the known ones."""
    known = sorted(available)
    if wanted in known:
        return wanted, ""
    return DEFAULT_THEME, (
        f"Theme {wanted!r} is not known; using {DEFAULT_THEME}. Known themes: {', '.join(known)}"
    )
