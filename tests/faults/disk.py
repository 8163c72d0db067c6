""" "Nothing on disk changed": a snapshot of every entry under a directory (bytes, mode, mtime)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Entry = tuple[int, int, bytes]  # mode, mtime_ns, content (b"" for dirs; the target for links)


def snapshot(root: Path) -> dict[str, Entry]:
    """Every entry under ``root`` (symlinks not followed), keyed by its relative path."""
    result: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                content = os.readlink(path).encode()
            elif stat.S_ISREG(st.st_mode):
                content = path.read_bytes()
            else:
                content = b""
            result[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, content)
    return result


def changes(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    """Names of entries added, removed or changed (lock sidecars are allowed to appear)."""
    names = set(before) | set(after)
    return sorted(
        n
        for n in names
        if before.get(n) != after.get(n) and not (n.endswith(".lock") and n not in before)
    )
