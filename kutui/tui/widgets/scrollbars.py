"""Scrollbars decided before a layout, not by it."""

from __future__ import annotations

from textual.widget import Widget


def scrollbars_now(widget: Widget) -> None:
    """Show or hide ``widget``'s scrollbars for its virtual size as it is now.

    Textual decides them while laying the screen out; a scrollbar that appears there asks for a
    second layout, which draws the widget again at its new width. A tree of 11,000 lines and a
    table of 10,000 rows filled after start-up went through that second layout and draw before
    their first screen was whole (bench/yardstick.py). Deciding them as soon as the content is
    in lets the one layout that follows use them. The container size is the last layout's; a
    widget not laid out yet is left to Textual."""
    widget._refresh_scrollbars()  # noqa: SLF001 - Textual's own rule, run early
