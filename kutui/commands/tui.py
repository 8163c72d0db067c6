"""``kutui`` / ``kutui tui`` (the terminal UI) and ``kutui demo`` (the UI on the simulator).

Textual is imported only inside ``run_tui``/``run_demo``, so headless commands never load it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    tui = subparsers.add_parser(
        "tui",
        help="open the terminal UI (the default when no command is given)",
        description="Open the terminal UI: accounts, keys, live checks, notes and rotation.",
    )
    _add_ui_flags(tui)
    tui.set_defaults(func=run_tui)
    demo = subparsers.add_parser(
        "demo",
        help="try kutui on the built-in KuCoin simulator with fake demo keys",
        description="Open the terminal UI on a temporary home holding 3 accounts, 8 "
        "sub-accounts and 40 fake keys on the in-process simulator, arranged to show every "
        "status. Nothing touches the network or your real kutui files; the temporary home is "
        "deleted on exit. The demo vault's passphrase is shown on the unlock screen.",
    )
    demo.add_argument(
        "--scale",
        type=int,
        default=1,
        metavar="N",
        help="repeat the 40 demo keys N times (1-250; 250 gives 10,000 keys)",
    )
    demo.add_argument(
        "--screenshot",
        metavar="FILE.svg",
        help="do not open the UI: check every demo key headless, save an SVG of the screen to "
        "FILE.svg, and exit (the README's screenshot)",
    )
    _add_ui_flags(demo)
    demo.set_defaults(func=run_demo)


def _add_ui_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="leave the mouse to the terminal (its own text selection works again)",
    )


def _mouse(args: argparse.Namespace, configured: bool) -> bool:
    return configured and not getattr(args, "no_mouse", False)


def run_tui(args: argparse.Namespace) -> int:
    from kutui.store.home import Home
    from kutui.tui.app import KutuiApp

    home = Home.load(getattr(args, "home", None))
    app = KutuiApp(home)
    app.run(mouse=_mouse(args, home.config.ui.mouse))
    return int(app.return_code or 0)


def run_demo(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from kutui.demo import DEMO_PASSPHRASE, build_demo
    from kutui.errors import UsageError
    from kutui.tui.app import KutuiApp

    scale = int(getattr(args, "scale", 1))
    if not 1 <= scale <= 250:
        raise UsageError(f"--scale must be from 1 to 250 (got {scale})")
    with tempfile.TemporaryDirectory(prefix="kutui-demo-") as tmp:
        print(
            f"kutui: demo home in {tmp} (deleted on exit); demo vault passphrase: "
            f"{DEMO_PASSPHRASE}",
            file=sys.stderr,
        )
        demo = build_demo(Path(tmp) / "home", scale=scale)
        screenshot = getattr(args, "screenshot", None)
        if screenshot:
            return _demo_screenshot(demo, Path(screenshot))
        app = KutuiApp(
            demo.home,
            transport=demo.transport(),
            clock=demo.clock,
            unlock_hint=f"Demo vault passphrase: {DEMO_PASSPHRASE}",
        )
        app.run(mouse=_mouse(args, demo.home.config.ui.mouse))
        return int(app.return_code or 0)


def _demo_screenshot(demo: Any, path: Any) -> int:
    """Run the demo headless: unlock, check every key, open a key with drift, save an SVG."""
    from kutui.tui.app import KutuiApp

    app = KutuiApp(demo.home, vault=demo.open_vault(), transport=demo.transport(), clock=demo.clock)

    async def drive(pilot: Any) -> None:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("C")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.press("j", "j", "j", "l", "j")  # alpha/bot-futures/perp-2: drift
        await pilot.pause(0.5)
        app.clear_notifications()
        await pilot.pause()
        path.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=path.name, path=str(path.parent))
        app.exit(0)

    app.run(headless=True, size=(120, 40), auto_pilot=drive)
    print(f"kutui: screenshot saved to {path}", file=sys.stderr)
    return int(app.return_code or 0)
