"""The vault file's byte layout, format v1 (docs/security.md, "Vault format v1"). No cryptography
here, only framing.

All integers are big-endian. Every variable part is length-prefixed, so a truncated file, trailing
bytes or a wrong length are told apart from a wrong key before any decryption::

    file   = magic "KUTUIV" | major u8 | minor u8 | body_len u32 | body | ct_len u32 | ciphertext
    body   = uuid[16] | generation u64 | aead u8 | n u8 | stanza * n | salt[32] | nonce[12]
    stanza = type u8 | len u16 | stanza body
      passphrase (1): kdf u8 | a u32 | b u32 | c u32 | salt_len u8 | salt | nonce[12] | wrapped[48]
                      (argon2id: a=memory KiB, b=iterations, c=lanes; scrypt: a=log2 N, b=r, c=p)
      keyring    (2): nonce[12] | wrapped[48]

The header (magic through nonce) is the payload's associated data. This layout is frozen: a golden
file in the tests must keep opening (lesson of keyrings.cryptfile#15).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kutui.errors import VaultFormatError
from kutui.store.kdf import ARGON2ID, KDF_IDS, KDF_NAMES, SCRYPT, KdfParams, check_read

MAGIC = b"KUTUIV"
MAJOR = 1
MINOR = 0
AEAD_AES256GCM = 1
AEAD_NAMES = {AEAD_AES256GCM: "aes-256-gcm"}

STANZA_PASSPHRASE = 1
STANZA_KEYRING = 2
STANZA_NAMES = {STANZA_PASSPHRASE: "passphrase", STANZA_KEYRING: "keyring"}

UUID_BYTES = 16
PAYLOAD_SALT_BYTES = 32
NONCE_BYTES = 12
WRAPPED_BYTES = 32 + 16  # DEK + GCM tag
TAG_BYTES = 16

MAX_BODY = 64 * 1024  # a header is ~200 bytes; anything near this is not a kutui vault
MAX_STANZAS = 8
MAX_CIPHERTEXT = 1 << 30  # 1 GiB: 10,000 keys take ~3 MiB

_PREFIX = struct.Struct(">6sBBI")
_FIXED = struct.Struct(">16sQBB")
_STANZA_HEAD = struct.Struct(">BH")
_KDF = struct.Struct(">BIII")


@dataclass(frozen=True)
class PassphraseStanza:
    params: KdfParams
    salt: bytes
    nonce: bytes
    wrapped: bytes

    type_id = STANZA_PASSPHRASE


@dataclass(frozen=True)
class KeyringStanza:
    nonce: bytes
    wrapped: bytes

    type_id = STANZA_KEYRING


Stanza = PassphraseStanza | KeyringStanza


@dataclass(frozen=True)
class Header:
    uuid: bytes
    generation: int
    stanzas: tuple[Stanza, ...]
    payload_salt: bytes
    nonce: bytes
    aead: int = AEAD_AES256GCM
    major: int = MAJOR
    minor: int = MINOR

    def passphrase_stanza(self) -> PassphraseStanza | None:
        return next((s for s in self.stanzas if isinstance(s, PassphraseStanza)), None)

    def keyring_stanza(self) -> KeyringStanza | None:
        return next((s for s in self.stanzas if isinstance(s, KeyringStanza)), None)

    def with_stanza(self, stanza: Stanza) -> Header:
        """Replace the stanza of the same type (or add it), keeping a stable order."""
        rest = [s for s in self.stanzas if s.type_id != stanza.type_id]
        return replace(self, stanzas=tuple(sorted([*rest, stanza], key=lambda s: s.type_id)))

    def without(self, type_id: int) -> Header:
        return replace(self, stanzas=tuple(s for s in self.stanzas if s.type_id != type_id))


def wrap_aad(header: Header, type_id: int) -> bytes:
    """Associated data of a DEK wrap: magic + version + vault UUID + stanza type."""
    return MAGIC + bytes((header.major, header.minor)) + header.uuid + bytes((type_id,))


def _stanza_body(stanza: Stanza) -> bytes:
    if isinstance(stanza, KeyringStanza):
        return stanza.nonce + stanza.wrapped
    p = stanza.params
    a, b, c = (p.log_n, p.r, p.p) if p.kdf == SCRYPT else (p.memory_kib, p.iterations, p.lanes)
    return (
        _KDF.pack(KDF_IDS[p.kdf], a, b, c)
        + bytes((len(stanza.salt),))
        + stanza.salt
        + stanza.nonce
        + stanza.wrapped
    )


def serialize_header(header: Header) -> bytes:
    body = bytearray(_FIXED.pack(header.uuid, header.generation, header.aead, len(header.stanzas)))
    for stanza in header.stanzas:
        chunk = _stanza_body(stanza)
        body += _STANZA_HEAD.pack(stanza.type_id, len(chunk)) + chunk
    body += header.payload_salt + header.nonce
    return _PREFIX.pack(MAGIC, header.major, header.minor, len(body)) + bytes(body)


def assemble(header_bytes: bytes, ciphertext: bytes) -> bytes:
    return header_bytes + struct.pack(">I", len(ciphertext)) + ciphertext


class _Reader:
    """Cursor over a byte string; running off the end is a 'truncated' format error."""

    def __init__(self, data: bytes, path: Path, where: str) -> None:
        self.data = data
        self.pos = 0
        self.path = path
        self.where = where

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise VaultFormatError(self.path, f"is truncated ({self.where} ends inside the {what})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[Any, ...]:
        return fmt.unpack(self.take(fmt.size, what))

    def left(self) -> int:
        return len(self.data) - self.pos


def _parse_stanza(type_id: int, body: bytes, path: Path) -> Stanza:
    def bad(problem: str) -> VaultFormatError:
        return VaultFormatError(path, f"{STANZA_NAMES[type_id]} stanza {problem}")

    if type_id == STANZA_KEYRING:
        if len(body) != NONCE_BYTES + WRAPPED_BYTES:
            raise bad(f"is {len(body)} bytes, expected {NONCE_BYTES + WRAPPED_BYTES}")
        return KeyringStanza(nonce=body[:NONCE_BYTES], wrapped=body[NONCE_BYTES:])
    reader = _Reader(body, path, "the passphrase stanza")
    kdf_id, a, b, c = reader.unpack(_KDF, "KDF parameters")
    salt_len = reader.take(1, "salt length")[0]
    salt = reader.take(salt_len, "salt")
    kdf = KDF_NAMES.get(kdf_id)
    if kdf is None:
        params = KdfParams(kdf=f"#{kdf_id}")
    elif kdf == ARGON2ID:
        params = KdfParams(kdf=kdf, memory_kib=a, iterations=b, lanes=c)
    else:
        params = KdfParams(kdf=kdf, log_n=a, r=b, p=c)
    # Caps first, so a hostile header is refused before anything else looks at it.
    check_read(params, salt_len, path)
    nonce = reader.take(NONCE_BYTES, "wrap nonce")
    wrapped = reader.take(WRAPPED_BYTES, "wrapped data key")
    if reader.left():
        raise bad(f"has {reader.left()} unexpected bytes at its end")
    return PassphraseStanza(params=params, salt=salt, nonce=nonce, wrapped=wrapped)


def parse(raw: bytes, path: Path) -> tuple[Header, bytes, bytes]:
    """Split a vault file into (header, header bytes, ciphertext), checking every length.

    Raises ``VaultFormatError`` (not a vault, truncated, trailing bytes, unknown version) or
    ``VaultParamsError`` (KDF parameters outside the caps)."""
    if not raw:
        raise VaultFormatError(path, "is empty; it is not a kutui vault")
    if raw[: len(MAGIC)] != MAGIC[: len(raw)]:
        raise VaultFormatError(path, "is not a kutui vault (wrong magic bytes)")
    reader = _Reader(raw, path, "the file")
    _, major, minor, body_len = reader.unpack(_PREFIX, "format version")
    if major != MAJOR:
        raise VaultFormatError(
            path, f"has vault format {major}.{minor}; this kutui reads format {MAJOR}.x"
        )
    if body_len > MAX_BODY:
        raise VaultFormatError(path, f"header claims {body_len} bytes; not a kutui vault")
    body = reader.take(body_len, "header")
    header_bytes = raw[: reader.pos]
    hr = _Reader(body, path, "the header")
    uuid, generation, aead, count = hr.unpack(_FIXED, "vault id and generation")
    if aead not in AEAD_NAMES:
        raise VaultFormatError(path, f"uses unknown cipher id {aead}")
    if count > MAX_STANZAS:
        raise VaultFormatError(path, f"header lists {count} unlock stanzas; at most {MAX_STANZAS}")
    stanzas: list[Stanza] = []
    for _ in range(count):
        type_id, length = hr.unpack(_STANZA_HEAD, "stanza header")
        chunk = hr.take(length, "unlock stanza")
        if type_id not in STANZA_NAMES:
            raise VaultFormatError(path, f"has unknown unlock stanza type {type_id}")
        if any(s.type_id == type_id for s in stanzas):
            raise VaultFormatError(path, f"has two {STANZA_NAMES[type_id]} stanzas")
        stanzas.append(_parse_stanza(type_id, chunk, path))
    payload_salt = hr.take(PAYLOAD_SALT_BYTES, "payload salt")
    nonce = hr.take(NONCE_BYTES, "payload nonce")
    if hr.left():
        raise VaultFormatError(path, f"header has {hr.left()} unexpected bytes at its end")
    if not stanzas:
        raise VaultFormatError(path, "has no unlock stanza")
    (ct_len,) = reader.unpack(struct.Struct(">I"), "payload length")
    if not TAG_BYTES <= ct_len <= MAX_CIPHERTEXT:
        raise VaultFormatError(path, f"payload length {ct_len} is impossible")
    ciphertext = reader.take(ct_len, "payload")
    if reader.left():
        raise VaultFormatError(
            path, f"has {reader.left()} bytes of trailing data after the payload"
        )
    header = Header(
        uuid=uuid,
        generation=generation,
        stanzas=tuple(stanzas),
        payload_salt=payload_salt,
        nonce=nonce,
        aead=aead,
        major=major,
        minor=minor,
    )
    return header, header_bytes, ciphertext


PAD_STEP = 4096
_LEN = struct.Struct(">I")


def pad_payload(plain: bytes) -> bytes:
    """Length-prefix the JSON and zero-pad to a 4 KiB step, so the file size hides the key count."""
    total = _LEN.size + len(plain)
    return _LEN.pack(len(plain)) + plain + b"\0" * (-total % PAD_STEP)


def unpad_payload(padded: bytes, path: Path) -> bytes:
    if len(padded) < _LEN.size:
        raise VaultFormatError(path, "payload is too short to be a kutui payload")
    (length,) = _LEN.unpack_from(padded)
    if length > len(padded) - _LEN.size:
        raise VaultFormatError(path, "payload length is larger than the payload")
    return padded[_LEN.size : _LEN.size + length]
