"""Where a check run is reported besides the terminal: a Prometheus textfile, Apprise alerts and a
dead-man ping (``kutui check --prometheus FILE --notify URL --ping URL``; README.md, "Monitoring
and alerts").

``RunOutputs.parse`` checks every destination before a key is checked (a typo fails at once,
exit 2, not after a 10-minute run); ``RunOutputs.publish`` runs after the results are saved and
returns the problems as lines for stderr: a dead sink or a full disk never changes the exit code.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kutui.errors import KutuiError, UsageError
from kutui.model import ApiKey, CheckResult, Registry
from kutui.store.config import Config


@dataclass(frozen=True)
class RunOutputs:
    prometheus: Path | None = None
    notify_urls: tuple[str, ...] = ()
    ping_url: str = ""
    debug: bool = False

    @classmethod
    def parse(
        cls,
        config: Config,
        *,
        prometheus: str | None,
        notify: Sequence[str],
        ping: str | None,
        debug: bool = False,
    ) -> RunOutputs:
        """The run's destinations: the flags plus ``[notify] urls``; ``UsageError`` if bad."""
        from kutui.checks.ping import ping_url_problem

        path = None
        if prometheus:
            path = Path(prometheus).expanduser()
            if path.suffix != ".prom":
                raise UsageError(
                    f"--prometheus {path}: the name must end in .prom "
                    "(node_exporter's textfile collector reads only *.prom files)"
                )
            if not path.parent.is_dir():
                raise UsageError(f"--prometheus {path}: directory {path.parent} does not exist")
            if not os.access(path.parent, os.W_OK | os.X_OK):
                raise UsageError(
                    f"--prometheus {path}: directory {path.parent} is not writable by this user",
                    hint="give this user write access to the collector's directory",
                )
        urls = tuple(dict.fromkeys([*config.notify.urls, *notify]))
        if urls:
            from kutui.checks.notify import check_urls

            check_urls(urls, "--notify" if notify else "config.toml [notify] urls")
        if ping:
            problem = ping_url_problem(ping)
            if problem:
                raise UsageError(f"--ping {problem}")
        return cls(path, urls, ping or "", debug)

    @property
    def wanted(self) -> bool:
        return bool(self.prometheus or self.notify_urls or self.ping_url)

    def publish(
        self,
        registry: Registry,
        rows: Sequence[tuple[ApiKey, CheckResult]],
        config: Config,
        *,
        finished: datetime,
        duration_s: float,
        exit_code: int,
    ) -> list[str]:
        """Write, send and ping; the problems met (empty: all done)."""
        from kutui.store.learn import apply_results

        # The keys as the run left them (created time, permissions), as kutui.db now has them.
        apply_results(registry, [(key.id, result) for key, result in rows])
        problems: list[str] = []
        if self.prometheus is not None:
            from kutui.checks.prometheus import render, write_textfile

            try:
                write_textfile(
                    self.prometheus, render(rows, finished=finished, duration_s=duration_s)
                )
            except OSError as exc:
                problems.append(f"could not write {self.prometheus}: {exc.strerror or exc}")
        if self.notify_urls:
            from kutui.checks.alerts import alerts, message
            from kutui.checks.notify import send

            found = alerts(rows, config, finished)
            if found:
                title, body = message(found, rows)
                problems += send(self.notify_urls, title, body, debug=self.debug)
        if self.ping_url:
            problems += self.ping(summary(rows, exit_code), exit_code=exit_code)
        return problems

    def ping(self, text: str, *, exit_code: int) -> list[str]:
        """The dead-man ping alone (also sent when the run stopped on an error)."""
        from kutui.checks.ping import ping

        problem = ping(self.ping_url, success=exit_code == 0, summary=text)
        return [problem] if problem else []


#: The exit code of a bug (``kutui.cli.EXIT_INTERNAL``, EX_SOFTWARE): what the ping reports for one.
EXIT_INTERNAL = 70


@contextlib.contextmanager
def failures_pinged(ping_url: str | None, warn: Callable[[str], None]) -> Iterator[None]:
    """Around a whole run: a bad ``ping_url`` is a ``UsageError`` at once; an error that ends the
    run later (a usage, config or vault error, or a bug) is pinged to ``URL/fail`` before it
    propagates, so cron's dead-man switch hears of it. KeyboardInterrupt is the user's: no ping."""
    if ping_url:
        from kutui.checks.ping import ping_url_problem

        problem = ping_url_problem(ping_url)
        if problem:
            raise UsageError(f"--ping {problem}")
    try:
        yield
    except Exception as exc:
        if ping_url:
            code = exc.exit_code if isinstance(exc, KutuiError) else EXIT_INTERNAL
            for line in RunOutputs(ping_url=ping_url).ping(
                f"kutui check stopped: exit {code}", exit_code=code
            ):
                warn(line)
        raise


def summary(rows: Sequence[tuple[ApiKey, CheckResult]], exit_code: int) -> str:
    counts = Counter(result.status.value for _, result in rows)
    statuses = ", ".join(f"{n} {name}" for name, n in counts.most_common()) or "none"
    return f"kutui check: {len(rows)} key(s): {statuses}; exit {exit_code}"
