"""The app's crash output: a traceback without locals, redacted (docs/security.md, "Process
hygiene"). Textual's own panic path would render an exception's ``__rich__`` and its locals."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kutui.redact import redact

if TYPE_CHECKING:
    from textual.app import App


def fatal_error(app: App[int]) -> None:
    """Append the redacted traceback of the exception being handled (or the app's last one) to
    what the app prints on exit, then close it."""
    from rich.segment import Segments
    from rich.traceback import Traceback

    app.bell()
    exc_type, exc_value, tb = sys.exc_info()
    if exc_value is None and app._exception is not None:
        exc_value = app._exception
        exc_type, tb = type(exc_value), exc_value.__traceback__
    if exc_type is None or exc_value is None:
        app._close_messages_no_wait()
        return
    trace = Traceback.extract(exc_type, exc_value, tb, show_locals=False)
    for stack in trace.stacks:
        stack.exc_value = redact(stack.exc_value)
        for frame in stack.frames:
            frame.locals = None
    traceback = Traceback(trace, width=None, show_locals=False)
    app._exit_renderables.append(Segments(app.console.render(traceback, app.console.options)))
    app._close_messages_no_wait()
