"""Status badges: every status is written as text (glyph + words), colour only reinforces it."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from rich.style import Style
from rich.text import Text

from kutui.kucoin.diagnosis import ADVICE
from kutui.model import Status

#: status -> (glyph, words, tone): glyph and words carry the meaning, the tone picks a colour.
BADGES: dict[Status, tuple[str, str, str]] = {
    Status.OK: ("✓", "OK", "ok"),
    Status.UNCHECKED: ("·", "UNCHECKED", "unknown"),
    Status.RATE_LIMITED: ("!", "RATE LIMITED", "warn"),
    Status.UNREACHABLE: ("!", "UNREACHABLE", "warn"),
    Status.CLOCK_SKEW: ("!", "CLOCK SKEW", "warn"),
    Status.PERMISSION_DENIED: ("✗", "NO PERMISSION", "bad"),
    Status.UNSUPPORTED_VERSION: ("✗", "OLD VERSION", "bad"),
    Status.IP_DENIED: ("✗", "IP DENIED", "bad"),
    Status.FROZEN: ("✗", "FROZEN", "bad"),
    Status.BAD_SECRET: ("✗", "BAD SIGNATURE", "bad"),
    Status.BAD_PASSPHRASE: ("✗", "BAD PASSPHRASE", "bad"),
    Status.INVALID_KEY: ("✗", "INVALID KEY", "bad"),
}

UNCHECKED_FIX = "not checked yet: press c to check it"


def fix_for(status: Status) -> str:
    """What the user should do: ``kutui.kucoin.diagnosis.ADVICE`` holds the one wording; only
    "unchecked" names the TUI's own key (the CLI names its command, ``kutui/commands/check.py``)."""
    return UNCHECKED_FIX if status is Status.UNCHECKED else ADVICE[status][1]


#: What to press in the TUI for each failing status (default keys; README.md lists their ids).
IN_KUTUI: dict[Status, str] = {
    Status.UNCHECKED: "c checks this key",
    Status.BAD_PASSPHRASE: (
        "u edits the key: type the passphrase (and the secret, if that was wrong; an empty "
        "field keeps its value), then c checks it again"
    ),
    Status.INVALID_KEY: (
        "u enters the re-created key's API key, secret and passphrase; d removes it from kutui"
    ),
    Status.BAD_SECRET: "c checks it again once the proxy or the clock is fixed",
    Status.IP_DENIED: "c checks it again once the whitelist holds this host's address",
    Status.PERMISSION_DENIED: (
        "c checks it again after the change on KuCoin; n records the permissions it should have"
    ),
    Status.UNSUPPORTED_VERSION: "u sets the key version kutui signs with",
    Status.FROZEN: "nothing in kutui: once KuCoin lifts it, c checks it again",
    Status.CLOCK_SKEW: "c checks it again once the host clock is right",
    Status.RATE_LIMITED: "c checks it again after the reset",
    Status.UNREACHABLE: "c checks it again when KuCoin can be reached",
}


def explanation_for(status: Status) -> str:
    """What the status means (``kutui.kucoin.diagnosis.ADVICE``, the wording the CLI uses too)."""
    return "no check has run yet" if status is Status.UNCHECKED else ADVICE[status][0]


def in_kutui_for(status: Status) -> str:
    """The TUI's own fix, naming the key that does it; "" when there is nothing to do."""
    return IN_KUTUI.get(status, "")


TONE_VARIABLES = {
    "ok": "kutui-status-ok",
    "warn": "kutui-status-warn",
    "bad": "kutui-status-bad",
    "unknown": "kutui-status-unknown",
}


def badge_label(status: Status) -> str:
    glyph, words, _tone = BADGES[status]
    return f"{glyph} {words}"


#: Set in the colours mapping when the screen is monochrome (``NO_COLOR``): grey levels would
#: make red "bad" dimmer than green "ok", so tones are carried by text style instead.
MONOCHROME = "kutui-monochrome"


def tone_style(tone: str, colors: Mapping[str, str], *, bold: bool = False) -> Style:
    if colors.get(MONOCHROME):
        return _mono_style(tone, bold)
    return _style(colors.get(TONE_VARIABLES.get(tone, ""), ""), bold)


@functools.lru_cache(maxsize=32)
def _mono_style(tone: str, bold: bool) -> Style:
    if tone == "bad":
        return Style(bold=True, reverse=True)
    return Style(bold=bold or tone == "warn", dim=tone == "unknown")


@functools.lru_cache(maxsize=256)
def _style(color: str, bold: bool) -> Style:
    """Shared: a 10,000-row table asks for a few styles 30,000 times, and parsing the colour
    is most of a row's cost. Rich styles are immutable, so sharing one is safe."""
    try:
        return Style(color=color or None, bold=bold)
    except Exception:  # a theme variable that Rich cannot parse: text stays readable uncoloured
        return Style(bold=bold)


def badge_style(status: Status, colors: Mapping[str, str]) -> Style:
    """The badge's style: its tone in the theme's ``kutui-status-*`` colours."""
    tone = BADGES[status][2]
    return tone_style(tone, colors, bold=tone == "bad")


#: What follows a badge whose status is the last definite one, shown during an outage.
STALE_MARK = " stale"


def stale_style(colors: Mapping[str, str]) -> Style:
    return tone_style("warn", colors)


def badge(status: Status, colors: Mapping[str, str], *, stale: bool = False) -> Text:
    """The badge as Rich text, coloured with the theme's ``kutui-status-*`` variables.
    ``stale``: the status is the last definite one, shown during an outage (the rule is
    ``kutui.ops.views.shown_status``); the table and the tree mark it alike."""
    text = Text(badge_label(status), style=badge_style(status, colors), end="")
    if stale:
        text.append(STALE_MARK, style=stale_style(colors))
    return text
