"""A kutui app that crashes in a handler while a revealed secret sits in a local variable.

Run as a script: ``python -m tests.tui.crash.boom_app HOME [--textual-default]``. With
``--textual-default`` the app uses Textual's own crash handler (which prints locals): the
hygiene test runs both to prove it can tell them apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App

from kutui.secret import Secret
from kutui.store.home import Home
from kutui.tui.app import KutuiApp

SECRET = Secret("5c1d2e3f-aaaa-4bbb-8ccc-0123456789ab")


class BoomApp(KutuiApp):
    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self.explode)

    def explode(self) -> None:
        api_secret = SECRET.reveal()  # a local holding the clear value
        shown = api_secret if "--secret-in-message" in sys.argv else ""
        raise RuntimeError(f"signing failed for the key {shown}")


class DefaultCrashApp(BoomApp):
    _handle_exception = App._handle_exception
    _fatal_error = App._fatal_error


def main() -> int:
    home = Home.load(Path(sys.argv[1]))
    cls = DefaultCrashApp if "--textual-default" in sys.argv else BoomApp
    app = cls(home, watch_tty=False)
    app.run(headless=True, size=(100, 30))
    return int(app.return_code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
