"""What a use case returns: one line saying what changed, and what else the user should know."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """The outcome of one use case, for either front end to show.

    ``summary`` is one line ("stored main/bot1 (key …d3eb, version 3)"); ``notices`` are side
    effects worth telling (an account created on the way); ``warnings`` deserve attention (a
    secret that does not look like KuCoin's). ``key_ids`` are the keys written, so a caller can
    redraw them."""

    summary: str
    notices: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    key_ids: tuple[str, ...] = ()
