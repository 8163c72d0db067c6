"""The error hierarchy: every failure a user can cause or meet has one class and one message.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``. Messages name the file
and the key or line involved and never carry a secret: callers build them from paths, key paths,
labels and fingerprints only.
"""

from __future__ import annotations

from pathlib import Path


class KutuiError(Exception):
    """Base class: a problem the user can act on. Never carries a secret."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class UsageError(KutuiError):
    """A command line that cannot be carried out (bad reference, missing option...)."""


class FileProblem(KutuiError):
    """A problem with one file: the message always starts with the file's path."""

    def __init__(self, path: Path | str, problem: str, *, key: str = "", hint: str = "") -> None:
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + problem, hint=hint)
        self.path = Path(path)
        self.key = key
        self.problem = problem


class ConfigError(FileProblem):
    """config.toml (or a theme file) is not valid."""


class RegistryError(FileProblem):
    """accounts.toml (or another registry-like state file) is not valid."""


class ImportFileError(FileProblem):
    """A key import file cannot be read at all (bad rows are reported, not raised)."""


class UnsafeFileError(FileProblem):
    """A kutui file or directory is a symlink, owned by someone else, or readable by others."""


class LockTimeout(FileProblem):
    """Another kutui process holds a file's lock for too long."""


class VaultError(FileProblem):
    """The vault cannot be opened or written."""


class VaultNotFound(VaultError):
    """No vault exists yet (run ``kutui init``)."""


class VaultFormatError(VaultError):
    """The vault is truncated, has trailing bytes, or is not a kutui vault."""


class VaultParamsError(VaultError):
    """KDF parameters in the header are outside the allowed range (checked before the KDF runs)."""


class VaultAuthError(VaultError):
    """Wrong passphrase, or a stanza or payload that fails authentication."""


class UnlockError(KutuiError):
    """No way to unlock the vault was available (no keyring, no passphrase source)."""


class WeakKdfError(KutuiError):
    """Refused to create a vault or passphrase stanza below the minimum KDF strength."""


class KeyNotFound(KutuiError):
    """A reference names no key, account or sub-account in the registry."""


class KucoinError(KutuiError):
    """KuCoin (or the network to it) answered with a failure.

    ``code`` is KuCoin's body code (``"400005"``) or ``""`` for transport failures; ``status`` is
    the key-health status name from ``kutui.model.Status``.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int = 0,
        status: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.http_status = http_status
        self.status = status


class RotationError(KutuiError):
    """A rotation step cannot proceed (the checklist explains what to do)."""


class ChecklistError(FileProblem):
    """A rotation checklist file is malformed, from the future, or names an unknown step."""
