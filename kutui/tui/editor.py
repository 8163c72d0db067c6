"""Hand a text to the user's ``$VISUAL``/``$EDITOR`` and get it back, never losing the screen.

``App.suspend()`` gives the terminal to another program and takes it back when its ``with`` block
ends normally; an exception inside the block skips the taking back, and the TUI is left drawing
nothing while keys echo to the shell (``EDITOR=/no/such/editor``, then ``e``, did that). So the
editor is found on ``PATH`` before anything is suspended, and inside the block every failure is
caught and only raised once the app has its terminal again.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess  # nosec B404  # runs the user's $EDITOR
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textual.app import App


class EditorError(Exception):
    """The external editor could not be run, or it exited with a failure."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """``$VISUAL``, then ``$EDITOR``, then ``vi``, split like a shell would."""
    env = os.environ if env is None else env
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError:
                raise EditorError(f"${name} cannot be read as a command: {value!r}") from None
    return ["vi"]


def _runnable(argv: Sequence[str]) -> list[str]:
    """``argv`` with its program resolved; ``EditorError`` when there is none to run."""
    if not argv or not argv[0]:
        raise EditorError("no editor is set: set $EDITOR (for example EDITOR=nano)")
    found = shutil.which(argv[0])
    if found is None:
        raise EditorError(
            f"could not start the editor {argv[0]!r}: not found or not executable "
            "(set $VISUAL or $EDITOR to an installed editor)"
        )
    return [found, *argv[1:]]


def run_editor(app: App[Any], argv: Sequence[str], path: Path) -> None:
    """Run the editor on ``path`` with the terminal handed over; always take the terminal back."""
    program = _runnable(argv)
    failure: EditorError | None = None
    with app.suspend():
        try:
            completed = subprocess.run([*program, str(path)], check=False)  # nosec B603  # no shell
        except OSError as err:
            failure = EditorError(f"could not start the editor {argv[0]!r}: {err.strerror or err}")
        else:
            if completed.returncode != 0:
                failure = EditorError(
                    f"the editor {argv[0]!r} exited with status {completed.returncode}; "
                    "nothing changed"
                )
    if failure is not None:
        raise failure


def edit_text_in_editor(
    app: App[Any],
    text: str,
    *,
    command: Sequence[str] | None = None,
    suffix: str = ".md",
    tmp_root: Path | None = None,
) -> str:
    """Let the user edit ``text`` in an external editor; return the edited text.

    The app is suspended while the editor runs. Raises ``EditorError`` when the editor cannot be
    started or exits non-zero (the app has its terminal back by then), and
    ``textual.app.SuspendNotSupported`` where the terminal cannot be handed over. The temporary
    file (0600, in a 0700 directory) and its directory are removed in every case.
    """
    argv = list(command) if command else editor_command()
    _runnable(argv)  # before a temporary file exists or anything is suspended
    workdir = Path(tempfile.mkdtemp(prefix="kutui-note-", dir=tmp_root))
    try:
        path = workdir / f"note{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        run_editor(app, argv, path)
        return path.read_text(encoding="utf-8")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
