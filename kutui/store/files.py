"""Safe files: private directories, atomic writes, a sidecar lock, stale temp clean-up.

The atomic recipe (docs/security.md, "Files and atomic writes"): a temp file in the same directory
(mkstemp gives 0600 even under umask 0), write, flush, fsync, ``os.replace``, then fsync the
directory so the rename itself survives a power cut. A writer killed at any point leaves either the
old or the new file, plus at worst a ``.kutui-*.part`` temp file that ``remove_stale_temps`` deletes
at the next start. The ``.kutui-`` marker keeps other programs' temp files in a shared directory out
of that clean-up.

kutui never changes the mode of a directory it did not create: one that others can write to (a
1777 or 0775 ``--home``) is refused instead (README.md, "Files and permissions").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kutui.errors import FileProblem, LockTimeout, UnsafeFileError

DIR_MODE = 0o700
FILE_MODE = 0o600
TEMP_PREFIX = ".kutui-"
TEMP_SUFFIX = ".part"


def check_safe_dir(path: Path) -> None:
    """Refuse (``UnsafeFileError``) an existing directory that is a symlink, belongs to another
    user, or that group or others may write to (they could swap kutui's files); a missing one
    passes. Never changes the directory."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFileError(path, "is a symbolic link; kutui keeps its files in a real directory")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFileError(path, "is not a directory")
    if st.st_uid != os.getuid():
        raise UnsafeFileError(
            path,
            f"is owned by uid {st.st_uid}, not by you; kutui keeps its files only in a "
            "directory you own",
            hint="choose another --home",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise UnsafeFileError(
            path,
            f"has mode {mode:04o}: others may write to it, so kutui will not keep credentials "
            "there",
            hint=f"choose another --home, or run: chmod go-w {path}",
        )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700, or check an existing one (``check_safe_dir``)."""
    check_safe_dir(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    check_safe_dir(path)  # created meanwhile by someone else, or a symlink raced in
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes,
    *,
    backup_to: Path | Callable[[], Path | None] | None = None,
    group: int | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600.

    ``backup_to``: hard-link the current file there first (the vault keeps old generations). A
    callable is called only once the new data is safely on disk, so a write that fails (ENOSPC,
    EIO) has not yet made room for the backup by shifting older ones.
    ``group``: the new file's group (a consumer's file keeps the group it had).
    """
    _replace(ensure_private_dir(path.parent), path, data, FILE_MODE, backup_to, group)


def atomic_publish(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically for another program to read (mode 0644): a
    node_exporter textfile, which holds no secret. The directory is the reader's (often
    another user's, mode 0755 or 0775), so it must exist and is used as it is."""
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(directory))
    _replace(directory, path, data, mode, None, None)


def _replace(
    directory: Path,
    path: Path,
    data: bytes,
    mode: int,
    backup_to: Path | Callable[[], Path | None] | None,
    group: int | None,
) -> None:
    """The atomic recipe (module docstring): temp file beside ``path``, fsync, rename, fsync."""
    import tempfile  # here: reading commands (kutui key list) never pay for it and random

    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX, dir=directory
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if group is not None and group != os.getegid():
                os.fchown(handle.fileno(), -1, group)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if callable(backup_to):
            backup_to = backup_to()
        if backup_to is not None and path.exists():
            with contextlib.suppress(FileNotFoundError):
                backup_to.unlink()
            os.link(path, backup_to)
        os.replace(tmp, path)
        fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_new_private(directory: Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` to a new file ``stem[-N]suffix`` in ``directory``, mode 0600 from its
    creation (O_EXCL: an existing file or a planted symlink is never written through)."""
    for n in range(1000):
        path = directory / f"{stem}{f'-{n}' if n else ''}{suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)  # umask cannot loosen it; it can only tighten
            handle.write(data)
        return path
    raise FileExistsError(errno.EEXIST, f"{stem}-*{suffix}: too many files", str(directory))


def remove_stale_temps(directory: Path, *, older_than: float = 60.0) -> list[Path]:
    """Delete kutui's own ``.kutui-*.part`` files left by writers that died (a young one may
    belong to a live writer); other programs' temp files are never touched."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    cutoff = time.time() - older_than
    for entry in directory.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if entry.lstat().st_mtime < cutoff:
                entry.unlink()
                removed.append(entry)
    return removed


def check_private(path: Path) -> list[str]:
    """Problems with a kutui file's safety (symlink, other owner, group/world access)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return []
    problems: list[str] = []
    if stat.S_ISLNK(st.st_mode):
        problems.append(f"{path} is a symbolic link")
        return problems
    if st.st_uid != os.getuid():
        problems.append(f"{path} is owned by uid {st.st_uid}, not by you")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        problems.append(
            f"{path} has mode {mode:04o}; it should be {'0700' if path.is_dir() else '0600'}"
        )
    return problems


def open_owned(
    path: Path,
    flags: int,
    *,
    doing: str = "read",
    not_regular: type[FileProblem] | None = None,
) -> tuple[int, os.stat_result]:
    """Open ``path`` refusing a symlink, a non-regular file and another user's file: the one
    check behind every private file kutui reads or creates. Returns the descriptor (the
    caller closes it) and its stat; other ``OSError``s (not found, no permission) propagate
    for the caller to word, as does a non-regular file unless ``not_regular`` names the error."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError(path, f"is a symbolic link; refusing to {doing} it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if not_regular is None:
                code = errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
                raise OSError(code, os.strerror(code), str(path))
            raise not_regular(path, "is not a regular file")
        if st.st_uid != os.getuid():
            raise UnsafeFileError(
                path, f"is owned by uid {st.st_uid}, not by you; refusing to {doing} it"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_private(path: Path) -> bytes:
    """Read a kutui file, refusing symlinks and files owned by another user."""
    fd, _ = open_owned(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (a sidecar: ``os.replace`` swaps the inode of
    ``path`` itself, so a lock on it would protect nothing)."""
    lock_path = path.with_name(path.name + ".lock")
    ensure_private_dir(lock_path.parent)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:  # read-only home, no permission, a symlink or directory in the way
        raise FileProblem(
            lock_path, f"cannot be opened to lock {path.name} ({exc.strerror or exc})"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        path, f"another kutui process has held the lock for {timeout:.0f} s"
                    ) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing releases the flock
