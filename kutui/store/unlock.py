"""Where a vault passphrase may come from: a file, a systemd credential, or the terminal.

Never from argv and never from an environment variable's value (docs/security.md, "Unlock": the
environment is inherited by every child and readable through procfs). ``$CREDENTIALS_DIRECTORY``
only names the directory systemd mounted for the service. Every passphrase is NFC-normalised, so the
same text typed on a system that produces NFD opens the same vault.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kutui.errors import FileProblem, UnlockError
from kutui.secret import Secret
from kutui.store.files import open_owned

CREDENTIAL_NAME = "kutui-passphrase"
MAX_PASSPHRASE_FILE = 1024 * 1024 + 4096  # a 1 MiB passphrase plus a newline fits


class PassphraseFileError(FileProblem):
    """The passphrase file cannot be used (missing, empty, not a regular file, not yours)."""


@dataclass(frozen=True)
class FoundPassphrase:
    """A passphrase and where it came from (``source``: a file or "prompt", never the value)."""

    secret: Secret
    source: str
    warnings: tuple[str, ...] = field(default=())


def normalize(text: str) -> Secret:
    """NFC-normalise a passphrase and wrap it."""
    return Secret(unicodedata.normalize("NFC", text))


def read_passphrase_file(path: Path) -> FoundPassphrase:
    """The first line of ``path`` (trailing newline stripped; must not be empty).

    The file must be a regular file you own; group or world access is a warning, not an error
    (the user may be mid-setup), but kutui says so."""
    try:
        # O_NONBLOCK: a FIFO in its place must not hang the open (open_owned then refuses it).
        fd, st = open_owned(
            path,
            os.O_RDONLY | getattr(os, "O_NONBLOCK", 0),
            doing="read a passphrase from",
            not_regular=PassphraseFileError,
        )
    except FileNotFoundError:
        raise PassphraseFileError(path, "passphrase file not found") from None
    except OSError as exc:
        raise PassphraseFileError(path, f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(MAX_PASSPHRASE_FILE + 1)
    warnings: list[str] = []
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        warnings.append(f"{path} has mode {mode:04o}; others may read the passphrase (chmod 600)")
    if len(raw) > MAX_PASSPHRASE_FILE:
        raise PassphraseFileError(path, "is larger than 1 MiB; expected one line, the passphrase")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PassphraseFileError(path, "is not UTF-8 text") from None
    first = text.split("\n", 1)[0].removesuffix("\r")
    if not first:
        raise PassphraseFileError(path, "first line is empty; it must hold the vault passphrase")
    return FoundPassphrase(normalize(first), str(path), tuple(warnings))


def credentials_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$CREDENTIALS_DIRECTORY/kutui-passphrase`` if systemd provided it (LoadCredential=)."""
    env = os.environ if environ is None else environ
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    candidate = Path(directory) / CREDENTIAL_NAME
    return candidate if candidate.exists() else None


def has_terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin.isatty()
    os.close(fd)
    return True


def prompt_passphrase(prompt: str = "Vault passphrase: ", *, confirm: bool = False) -> Secret:
    """Ask on the terminal with echo off; ``UnlockError`` when there is no terminal."""
    if not has_terminal():
        raise UnlockError(
            "no terminal to ask for the vault passphrase",
            hint="use --passphrase-file or $CREDENTIALS_DIRECTORY/kutui-passphrase",
        )
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise UnlockError("the two passphrases differ")
    return normalize(first)


def find_passphrase(
    *,
    passphrase_file: Path | None = None,
    prompt: Callable[[str], Secret] | None = None,
    environ: Mapping[str, str] | None = None,
) -> FoundPassphrase | None:
    """The first available source: the file, the systemd credential, then ``prompt``.

    Returns None when none is available (the caller raises ``UnlockError``)."""
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    credential = credentials_file(environ)
    if credential is not None:
        return read_passphrase_file(credential)
    if prompt is not None:
        secret = prompt("Vault passphrase: ")
        return FoundPassphrase(normalize(secret.reveal()), "prompt")
    return None
