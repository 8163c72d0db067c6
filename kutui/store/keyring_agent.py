"""The keyring agent: the only code in kutui that talks to the OS keyring, run as a subprocess.

``python -m kutui.store.keyring_agent probe|get|set|delete`` reads one JSON request on stdin and
writes one JSON answer on stdout. Values travel only on these pipes, never in argv or the
environment (docs/security.md, "Unlock"). It runs in its own process because a locked Secret Service
collection or an unlock prompt on another display can hang forever (secretstorage#33), and a hung
call cannot be cancelled in process; the parent kills this process at its timeout instead.

Backend rules (docs/security.md, "Unlock"): ``keyring.core.init_backend(limit=recommended)``; refuse
``fail``, ``null``, a chainer with nothing real behind it and anything from ``keyrings.alt``
(plaintext or unauthenticated CFB). A ``PYTHON_KEYRING_BACKEND`` choice is honoured but passes the
same checks, and a write is read back, so a backend that silently drops values is caught.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
from typing import Any

SERVICE = "kutui"
REJECTED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
OPS = ("probe", "get", "set", "delete")


def keyring_username(vault_uuid: str) -> str:
    """The keyring entry (under ``SERVICE``) holding this vault's key-encryption key. Here, in the
    module that imports no other kutui module, so the vault and keyring unlock both name it."""
    return f"vault:{vault_uuid}"


class Refused(Exception):
    """The keyring is unusable for kutui; the message says why (never carries a value)."""


def backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _rejected(backend: Any) -> str:
    """Why this backend must not hold kutui's key, or "" when it may."""
    name = backend_name(backend)
    if any(name == m or name.startswith(m + ".") for m in REJECTED_MODULES):
        return f"backend {name} does not store secrets safely"
    return ""


def choose_backend() -> tuple[Any, str]:
    """The backend to use and a warning ("" if none); raises ``Refused``."""
    import keyring.core
    from keyring.backends.chainer import ChainerBackend

    keyring.core.init_backend(limit=keyring.core.recommended)
    backend = keyring.get_keyring()
    if isinstance(backend, ChainerBackend):
        # The chainer writes to its first member; judge that member, not the wrapper.
        members = [b for b in backend.backends if not _rejected(b)]
        if not members:
            raise Refused("no usable keyring backend (only a chainer with nothing safe behind it)")
        backend = members[0]
    why = _rejected(backend)
    if why:
        raise Refused(why)
    priority = float(getattr(backend, "priority", 0))
    warning = (
        f"backend {backend_name(backend)} has low priority {priority:g}; it was chosen explicitly"
        if priority < 1
        else ""
    )
    return backend, warning


def _set_checked(backend: Any, username: str, value: str) -> None:
    backend.set_password(SERVICE, username, value)
    if backend.get_password(SERVICE, username) != value:
        raise Refused(f"backend {backend_name(backend)} did not keep the value it was given")


def _delete(backend: Any, username: str) -> bool:
    from keyring.errors import PasswordDeleteError

    try:
        backend.delete_password(SERVICE, username)
    except PasswordDeleteError:
        return False  # already absent: deleting is idempotent
    return True


def handle(op: str, request: dict[str, Any]) -> dict[str, Any]:
    backend, warning = choose_backend()
    answer: dict[str, Any] = {"ok": True, "backend": backend_name(backend), "warning": warning}
    if op == "probe":
        username = f"probe:{secrets.token_hex(8)}"
        try:
            _set_checked(backend, username, secrets.token_urlsafe(32))
        except BaseException:
            with contextlib.suppress(Exception):  # report the first failure, not the clean-up's
                _delete(backend, username)
            raise
        _delete(backend, username)
    elif op == "get":
        answer["value"] = backend.get_password(SERVICE, str(request["username"]))
    elif op == "set":
        _set_checked(backend, str(request["username"]), str(request["value"]))
    elif op == "delete":
        answer["deleted"] = _delete(backend, str(request["username"]))
    return answer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in OPS:
        print(json.dumps({"ok": False, "why": f"usage: keyring_agent {'|'.join(OPS)}"}))
        return 2
    try:
        request = json.loads(sys.stdin.read() or "{}")
        if not isinstance(request, dict):
            raise ValueError("request is not a JSON object")
        answer = handle(argv[0], request)
    except Refused as exc:
        answer = {"ok": False, "why": str(exc)}
    except Exception as exc:  # KeyringError, RuntimeError, ImportError, D-Bus errors...
        answer = {"ok": False, "why": _first_line(exc)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
