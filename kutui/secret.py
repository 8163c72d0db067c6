"""The ``Secret`` type: a credential that never shows itself by accident.

``repr``, ``str``, ``format`` and Rich's repr all print a mask, so a secret that ends up in a log
line, an f-string, a Textual crash traceback (which renders locals) or a test failure message stays
hidden. The value comes out only through ``reveal()``, at the moment it is signed or encrypted.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any, NoReturn

MASK = "****"


class Secret:
    __slots__ = ("_value", "__weakref__")  # weakref: kutui.redact.register keeps weak references

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds text only")
        self._value = value

    def reveal(self) -> str:
        """The clear value. Call it only where the value is used (signing, encryption, display)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __rich_repr__(self) -> Iterator[str]:
        yield MASK

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        # Hash of a digest, not of the value, so a hash table never keys on the clear text.
        return hash(hmac.digest(b"kutui-secret-hash", self._value.encode(), "sha256"))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __copy__(self) -> Secret:
        return self
