"""Process hardening at start and a safety review of the kutui home (docs/security.md, "Process
hygiene").

``harden_process()`` turns off core dumps (``RLIMIT_CORE`` 0) and, on Linux, marks the process
non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``), which also stops other processes of the same user
from attaching with ptrace and reading the decrypted vault out of memory. Both are best effort:
a platform without them still runs kutui, and the result says what was applied.

``check_home(paths)`` lists, one line each, the files and directories of a kutui home that others
could read or swap: group/world access, another owner, symbolic links. It only reports; callers
decide whether to warn or refuse.
"""

from __future__ import annotations

import ctypes
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kutui.paths import Paths
from kutui.store.files import check_private

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3

#: How deep ``check_home`` walks below each kutui directory (rotations/ is one level down).
MAX_DEPTH = 3


@dataclass(frozen=True)
class Hardening:
    """What ``harden_process`` managed to apply (for ``kutui doctor`` and the tests)."""

    core_dumps_off: bool
    not_dumpable: bool


def _disable_core_dumps() -> bool:
    try:
        import resource
    except ImportError:  # not POSIX
        return False
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError):
        return False
    return resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)


def _libc() -> ctypes.CDLL | None:
    # Linux only (the callers check): dlopen(NULL) sees the libc the interpreter is linked to.
    # ctypes.util.find_library would import subprocess and run ldconfig on every command.
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _set_not_dumpable() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    prctl = getattr(libc, "prctl", None)
    if prctl is None:
        return False
    prctl.restype = ctypes.c_int
    if prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        return False
    return bool(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)


def is_dumpable() -> bool | None:
    """The process's dumpable flag (None where prctl does not exist)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = getattr(_libc(), "prctl", None)
    if prctl is None:
        return None
    prctl.restype = ctypes.c_int
    return bool(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))


def harden_process() -> Hardening:
    """No core dumps, no ptrace attach by same-user processes. Call once, early, in ``main``."""
    return Hardening(core_dumps_off=_disable_core_dumps(), not_dumpable=_set_not_dumpable())


def _walk(root: Path, depth: int) -> Iterable[Path]:
    """``root``'s entries, without following symbolic links (a link is reported, not entered)."""
    try:
        entries = sorted(root.iterdir())
    except OSError:  # unreadable or vanished: check_private on root has said what it can
        return
    for entry in entries:
        yield entry
        try:
            is_real_dir = stat.S_ISDIR(entry.lstat().st_mode)
        except OSError:
            continue
        if is_real_dir and depth > 1:
            yield from _walk(entry, depth - 1)


def check_home(paths: Paths) -> list[str]:
    """One warning per unsafe kutui file or directory; empty when the home is private."""
    problems: list[str] = []
    seen: set[Path] = set()
    for directory in paths.all_dirs():
        candidates = [directory]
        try:
            if stat.S_ISDIR(directory.lstat().st_mode):
                candidates += list(_walk(directory, MAX_DEPTH))
        except OSError:
            pass  # a missing directory is not a problem: kutui creates it 0700
        for path in candidates:
            # Themes are the user's own, public files (colours): their modes are theirs to choose.
            if path in seen or path.is_relative_to(paths.themes_dir):
                continue
            seen.add(path)
            problems.extend(check_private(path))
    return problems


def warn_about_home(paths: Paths, *, stream: TextIO | None = None) -> list[str]:
    """Print ``check_home``'s findings to stderr as ``kutui: warning: ...`` lines."""
    problems = check_home(paths)
    out = stream if stream is not None else sys.stderr
    for problem in problems:
        print(f"kutui: warning: {problem}", file=out)
    return problems


__all__ = ["Hardening", "check_home", "harden_process", "is_dumpable", "warn_about_home"]
