"""Dead-man's-switch ping for cron (``kutui check --ping URL``), healthchecks.io style.

A run that ends with exit 0 POSTs to ``URL``; any other end (a key not ok, a usage, config or
vault error) POSTs to ``URL/fail``. A cron job that stops running sends nothing, and the service
notices the silence. The body is the run's one-line summary (refs and counts, never a secret);
the URL is shown only as scheme://host, since its path is often the check's token. A failed ping
is reported and does not change the exit code.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kutui.text import control_problem

PING_TIMEOUT_SECONDS = 10.0


def ping_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be pinged, or None."""
    if control_problem(url) or any(ch.isspace() for ch in url):
        return "must be one http(s) URL without spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL, for example https://hc-ping.com/UUID"
    return None


def shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def target(url: str, *, success: bool) -> str:
    return url if success else url.rstrip("/") + "/fail"


def ping(url: str, *, success: bool, summary: str, timeout: float = PING_TIMEOUT_SECONDS) -> str:
    """Ping; "" when it was answered with 2xx, else the line to print."""
    import httpx

    try:
        answer = httpx.post(
            target(url, success=success),
            content=summary.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        return f"could not ping {shown(url)}: {type(exc).__name__}"
    if not 200 <= answer.status_code < 300:
        return f"ping to {shown(url)} answered HTTP {answer.status_code}"
    return ""
