"""Send a run's alerts through Apprise (``kutui check --notify URL``, ``[notify] urls``).

Apprise is the optional extra ``kutui[notify]``: one library for Telegram, Discord, Slack, ntfy,
email, ``json://`` webhooks and 100+ more, each named by a URL. It is imported only when a URL is
given; a missing Apprise is a usage error before any key is checked.

A notification URL often embeds the service's token (``tgram://BOTTOKEN/CHAT``): kutui names a
URL only as Apprise's privacy form (``tgram://1...z/CHAT/``), and Apprise's own log lines, which
may quote hosts, stay silent unless ``--debug``. A failed send is returned as a line for stderr;
it never changes the run's exit code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kutui.errors import UsageError

INSTALL_HINT = "install it with: pipx inject kutui apprise (or pip install 'kutui[notify]')"


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise UsageError(
            "notifications (--notify, [notify] urls) need Apprise, which is not installed",
            hint=INSTALL_HINT,
        ) from None
    return apprise


def shown(url: str) -> str:
    """A URL as kutui may print it: Apprise's privacy form without its query, else the scheme."""
    try:
        plugin = _apprise().Apprise.instantiate(url)
    except Exception:  # noqa: BLE001 - any parse failure: show less, never more
        plugin = None
    if plugin is None:
        scheme = url.partition("://")[0] if "://" in url else ""
        return f"{scheme}://…" if scheme.isalnum() else "(an unreadable URL)"
    return str(plugin.url(privacy=True)).partition("?")[0]


def check_urls(urls: Sequence[str], where: str) -> None:
    """Refuse (``UsageError``) before the run: no Apprise, or a URL Apprise cannot read."""
    apprise = _apprise()
    for number, url in enumerate(urls, 1):
        if apprise.Apprise.instantiate(url) is None:
            raise UsageError(
                f"{where}: URL {number} ({shown(url)}) is not one Apprise can send to",
                hint="see https://github.com/caronc/apprise/wiki for the URL of each service",
            )


def send(urls: Sequence[str], title: str, body: str, *, debug: bool = False) -> list[str]:
    """Send to every URL; one line per URL that failed (empty: all sent)."""
    apprise = _apprise()
    quiet = logging.getLogger("apprise")
    before = quiet.disabled
    quiet.disabled = not debug
    failed: list[str] = []
    try:
        for url in urls:
            sender = apprise.Apprise()
            sender.add(url)
            try:
                ok = bool(
                    sender.notify(body=body, title=title, notify_type=apprise.NotifyType.WARNING)
                )
            except Exception:  # noqa: BLE001 - a plugin bug must not cost the run its result
                ok = False
            if not ok:
                failed.append(f"could not send the notification to {shown(url)}")
    finally:
        quiet.disabled = before
    return failed
