"""The openbao store's one error class: one line, exit 2, nothing changed locally."""

from __future__ import annotations

from kutui.errors import KutuiError


class OpenBaoError(KutuiError):
    """The server is down or sealed, the token is refused, a write keeps conflicting, or a path
    holds something that is not a kutui key. Messages name the server and the path, never a
    secret value nor the token."""


class CasConflict(OpenBaoError):
    """A check-and-set write lost to another writer (retried by the callers)."""
