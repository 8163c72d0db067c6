"""Keys are applied one at a time, in the order typed, however fast they arrive.

Textual routes a key to the widget focused *when the key arrives*, while the bindings that move
focus or open a screen (tab, ``a``, ``n``...) run only when that key has bubbled back up to the
app. A burst (a fast typist on a loaded app, tmux ``send-keys``, a terminal replaying its buffer)
therefore sends "label, tab, key" all to the label field, and the letters typed after ``a`` to the
main screen instead of the form it opens (issue 14: "text, Tab, text lands in the wrong field").

``KeyOrder`` holds each key until the one before it has been handled everywhere: a ``KeyHandled``
message is posted behind the key to the same widget, and as message queues are first in, first
out, it reaches the app only after the key (and its bubbling, bindings and actions) did. When the
key changed the screen, the next key also waits until the new screen is mounted and its focus set.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer

#: A key whose ``KeyHandled`` never comes back holds the others while its widget is still
#: there, checked this often (seconds), and at most GIVE_UP_AFTER: a widget removed with the key
#: still in its queue never answers, a slow one does (and the keys behind it must wait).
CHECK_EVERY = 0.5
GIVE_UP_AFTER = 5.0
#: ``_in_flight`` while the next key waits for its screen (tickets start at 1).
RESERVED = 0


class KeyHandled(Message):
    """Posted behind a key: arriving at the app, every handler of key ``ticket`` has run."""

    def __init__(self, ticket: int) -> None:
        super().__init__()
        self.ticket = ticket


class KeyOrder:
    """One per app. ``apply`` is the app's own handling of a key (``App.on_event``)."""

    def __init__(self, app: App[Any], apply: Callable[[events.Key], Awaitable[None]]) -> None:
        self._app = app
        self._apply = apply
        self._waiting: deque[events.Key] = deque()
        self._ticket = 0
        #: The ticket of the key being handled, or ``None`` when the next key may go at once.
        self._in_flight: int | None = None
        self._screen: Screen[Any] | None = None
        self._give_up: Timer | None = None
        self._target: MessagePump | None = None
        self._sent_at = 0.0
        #: Keys received so far (tests wait for a burst to be handled).
        self.received = 0

    @property
    def idle(self) -> bool:
        """Every key received has been handled."""
        return self._in_flight is None and not self._waiting

    async def key(self, event: events.Key) -> None:
        """A key from the terminal: handle it now, or after those before it."""
        self.received += 1
        screen = self._app.screen
        if self._in_flight is None and not self._waiting:
            if screen is self._screen and screen.is_mounted:
                await self._send(event)
                return
            self._in_flight = RESERVED  # a new screen: its focus may not be set yet
            self._waiting.append(event)
            self._next_when_ready()
            return
        self._waiting.append(event)

    def handled(self, message: KeyHandled) -> None:
        """The app received a ``KeyHandled``: the key it follows is done."""
        message.stop()
        if message.ticket == self._in_flight:
            self._done()

    async def _send(self, event: events.Key) -> None:
        app = self._app
        self._ticket += 1
        ticket = self._ticket
        self._in_flight = ticket
        self._screen = app.screen
        # Where App.on_event forwards a key that no priority binding took.
        target = app.focused or app.screen
        await self._apply(event)
        if self._in_flight != ticket:
            return
        if not event.is_forwarded or not target.post_message(KeyHandled(ticket)):
            self._done()  # a priority binding took it (its action has run), or nobody will
            return
        self._target, self._sent_at = target, time.monotonic()
        self._watch(ticket)

    def _watch(self, ticket: int) -> None:
        self._give_up = self._app.set_timer(
            CHECK_EVERY, lambda: self._check(ticket), name="key-order"
        )

    def _check(self, ticket: int) -> None:
        """Still no ``KeyHandled`` for ``ticket``: go on if it cannot come any more."""
        if self._in_flight != ticket:
            return  # answered meanwhile (a timer event queued before it was stopped)
        target = self._target
        lost = target is None or not target.is_attached or not target.is_running
        if lost or time.monotonic() - self._sent_at >= GIVE_UP_AFTER:
            self._done()
        else:
            self._watch(ticket)

    def _done(self) -> None:
        self._in_flight, self._target = None, None
        if self._give_up is not None:
            self._give_up.stop()
            self._give_up = None
        if self._waiting:
            self._in_flight = RESERVED  # until the next key goes
            self._next_when_ready()

    def _next_when_ready(self) -> None:
        app = self._app
        screen = app.screen
        if screen is not self._screen or not screen.is_mounted:
            # A screen was opened or closed: the next key goes once it is mounted and has
            # restored or set its focus (Widget.focus runs through App.call_later).
            self._screen = screen
            app.call_after_refresh(self._next_when_ready)
            return
        app.call_later(self._send_next)

    async def _send_next(self) -> None:
        self._in_flight = None
        if self._waiting:
            await self._send(self._waiting.popleft())
