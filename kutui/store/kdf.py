"""Passphrase key derivation for the vault: Argon2id by default, scrypt where Argon2id is missing.

Two gates (docs/security.md, "Vault format v1"): ``check_create`` refuses parameters weaker than RFC
9106's second recommended option (m=64 MiB, t=3) unless a test asks for them, and ``check_read``
caps what a header may ask for, so a hostile vault cannot make kutui allocate gigabytes or spin for
minutes. ``check_read`` runs while the header is parsed, i.e. always before ``derive``.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kutui.errors import VaultParamsError, WeakKdfError
from kutui.secret import Secret

if TYPE_CHECKING:
    from kutui.store.config import VaultConfig

ARGON2ID = "argon2id"
SCRYPT = "scrypt"
KDF_IDS = {ARGON2ID: 1, SCRYPT: 2}
KDF_NAMES = {number: name for name, number in KDF_IDS.items()}

SALT_BYTES = 16
KEY_BYTES = 32

# Creation minimums: RFC 9106's second recommended option (Bitwarden's default).
MIN_ARGON2_MEMORY_KIB = 64 * 1024
MIN_ARGON2_ITERATIONS = 3
MIN_SCRYPT_MEMORY = 64 * 1024 * 1024  # bytes, 128 * r * N

# Read caps: anything above is refused before the KDF runs, so one unlock costs at most about
# 4x the default's work (Argon2id m x t, scrypt N x r x p) and 1 GiB of memory: a hostile or
# mistyped header cannot make kutui spin for minutes (scrypt N=2^22 r=8 p=16 took 228 s, 4.2 GB).
DEFAULT_ARGON2_MEMORY_KIB = 256 * 1024
DEFAULT_ARGON2_ITERATIONS = 3
DEFAULT_SCRYPT_LOG_N = 17
DEFAULT_SCRYPT_R = 8
WORK_FACTOR = 4
MAX_MEMORY = 1024 * 1024 * 1024  # bytes
MAX_ARGON2_MEMORY_KIB = MAX_MEMORY // 1024
MAX_ARGON2_ITERATIONS = 10
MAX_ARGON2_WORK = WORK_FACTOR * DEFAULT_ARGON2_MEMORY_KIB * DEFAULT_ARGON2_ITERATIONS  # KiB x t
MAX_LANES = 16
MAX_SCRYPT_LOG_N = 22
MAX_SCRYPT_R = 32
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY = MAX_MEMORY  # bytes: 128 * r * N
MAX_SCRYPT_WORK = WORK_FACTOR * (1 << DEFAULT_SCRYPT_LOG_N) * DEFAULT_SCRYPT_R  # N x r x p


@dataclass(frozen=True)
class KdfParams:
    """``kdf`` is ``"argon2id"`` (memory_kib, iterations, lanes) or ``"scrypt"`` (log_n, r, p)."""

    kdf: str = ARGON2ID
    memory_kib: int = DEFAULT_ARGON2_MEMORY_KIB
    iterations: int = DEFAULT_ARGON2_ITERATIONS
    lanes: int = 4
    log_n: int = DEFAULT_SCRYPT_LOG_N
    r: int = DEFAULT_SCRYPT_R
    p: int = 1

    def describe(self) -> str:
        if self.kdf == SCRYPT:
            return f"scrypt N=2^{self.log_n} r={self.r} p={self.p}"
        return (
            f"argon2id m={self.memory_kib // 1024} MiB t={self.iterations} p={self.lanes}"
            if self.memory_kib % 1024 == 0
            else f"argon2id m={self.memory_kib} KiB t={self.iterations} p={self.lanes}"
        )


SCRYPT_DEFAULT = KdfParams(kdf=SCRYPT)


@functools.cache
def argon2_available() -> bool:
    """False when cryptography's OpenSSL lacks Argon2 (cryptography < 44 or OpenSSL < 3.2)."""
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:
        return False
    try:
        Argon2id(salt=b"\0" * SALT_BYTES, length=KEY_BYTES, iterations=1, lanes=1, memory_cost=8)
    except UnsupportedAlgorithm:
        return False
    return True


def default_params() -> KdfParams:
    """Argon2id m=256 MiB t=3 p=4, or scrypt N=2^17 r=8 p=1 where Argon2id is unsupported."""
    return KdfParams() if argon2_available() else SCRYPT_DEFAULT


def params_from_config(
    kdf: str, memory_mib: int, iterations: int, lanes: int, log_n: int
) -> KdfParams:
    """Build params from config.toml's [vault] values; argon2id falls back to scrypt if missing."""
    if kdf == ARGON2ID and argon2_available():
        return KdfParams(memory_kib=memory_mib * 1024, iterations=iterations, lanes=lanes)
    return KdfParams(kdf=SCRYPT, log_n=log_n)


def params_for(settings: VaultConfig) -> KdfParams:
    """The KDF a new passphrase stanza gets from config.toml's ``[vault]``."""
    return params_from_config(
        settings.kdf,
        settings.argon2_memory_mib,
        settings.argon2_iterations,
        settings.argon2_lanes,
        settings.scrypt_log_n,
    )


def check_create(params: KdfParams, *, allow_weak: bool = False) -> None:
    """Refuse to create a passphrase stanza below the minimum strength (``WeakKdfError``)."""
    if params.kdf not in KDF_IDS:
        raise WeakKdfError(f"unknown KDF {params.kdf!r}; use argon2id or scrypt")
    over = cap_problem(params)
    if over:  # a vault kutui itself could not open again
        raise WeakKdfError(f"KDF {params.describe()}: {over}; kutui refuses to read such a vault")
    if allow_weak:
        return
    if params.kdf == ARGON2ID:
        if params.memory_kib < MIN_ARGON2_MEMORY_KIB or params.iterations < MIN_ARGON2_ITERATIONS:
            raise WeakKdfError(
                f"KDF {params.describe()} is too weak; the minimum is argon2id m=64 MiB t=3"
            )
    elif 128 * params.r * (1 << max(params.log_n, 0)) < MIN_SCRYPT_MEMORY:
        raise WeakKdfError(f"KDF {params.describe()} is too weak; scrypt needs 64 MiB or more")


def cap_problem(params: KdfParams) -> str:
    """What makes ``params`` cost more than the read caps allow, or "" (one rule for both gates)."""
    if params.kdf == ARGON2ID:
        if not 1 <= params.lanes <= MAX_LANES:
            return f"argon2id lanes {params.lanes} outside 1..{MAX_LANES}"
        if not 1 <= params.iterations <= MAX_ARGON2_ITERATIONS:
            return f"argon2id iterations {params.iterations} outside 1..{MAX_ARGON2_ITERATIONS}"
        if not 8 * params.lanes <= params.memory_kib <= MAX_ARGON2_MEMORY_KIB:
            return f"argon2id memory {params.memory_kib} KiB outside 8*lanes..1 GiB"
        if params.memory_kib * params.iterations > MAX_ARGON2_WORK:
            return (
                f"argon2id memory x iterations {params.memory_kib} KiB x {params.iterations} is "
                f"over {WORK_FACTOR}x the default (256 MiB x 3)"
            )
        return ""
    if params.kdf == SCRYPT:
        if not 1 <= params.log_n <= MAX_SCRYPT_LOG_N:
            return f"scrypt log2(N) {params.log_n} outside 1..{MAX_SCRYPT_LOG_N}"
        if not 1 <= params.r <= MAX_SCRYPT_R:
            return f"scrypt r {params.r} outside 1..{MAX_SCRYPT_R}"
        if not 1 <= params.p <= MAX_SCRYPT_P:
            return f"scrypt p {params.p} outside 1..{MAX_SCRYPT_P}"
        if 128 * params.r * (1 << params.log_n) > MAX_SCRYPT_MEMORY:
            return "scrypt memory 128*r*N is over 1 GiB"
        if (1 << params.log_n) * params.r * params.p > MAX_SCRYPT_WORK:
            return f"scrypt work N*r*p is over {WORK_FACTOR}x the default (N=2^17 r=8 p=1)"
        return ""
    return f"unknown KDF {params.kdf!r}"


def check_read(params: KdfParams, salt_len: int, path: Path) -> None:
    """Refuse header parameters outside sane bounds before any KDF work (``VaultParamsError``)."""

    def bad(what: str) -> VaultParamsError:
        return VaultParamsError(path, f"passphrase stanza: {what}; refusing to run the KDF")

    if salt_len != SALT_BYTES:
        raise bad(f"salt is {salt_len} bytes, expected {SALT_BYTES}")
    problem = cap_problem(params)
    if problem:
        raise bad(problem)


def passphrase_bytes(passphrase: Secret) -> bytes:
    """NFC first, so the same text typed on macOS (NFD) and Linux (NFC) gives the same key."""
    return unicodedata.normalize("NFC", passphrase.reveal()).encode("utf-8", "surrogatepass")


def derive(passphrase: Secret, salt: bytes, params: KdfParams) -> bytes:
    """The 32-byte key-encryption key for a passphrase stanza."""
    secret = passphrase_bytes(passphrase)
    if params.kdf == SCRYPT:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(
            salt=salt, length=KEY_BYTES, n=1 << params.log_n, r=params.r, p=params.p
        ).derive(secret)
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(secret)
