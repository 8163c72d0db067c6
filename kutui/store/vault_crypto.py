"""The vault's cryptography: DEK wraps for unlock stanzas and the per-save payload seal.

A fresh 32-byte salt on every save derives a fresh payload key (HKDF-SHA256 from the DEK), so a
random 12-byte GCM nonce is never used twice under one key however many saves happen (§2.6).
"""

from __future__ import annotations

import os
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kutui.store.vault_format import (
    NONCE_BYTES,
    PAYLOAD_SALT_BYTES,
    Header,
    assemble,
    serialize_header,
)

DEK_BYTES = 32
PAYLOAD_INFO = b"kutui/v1/payload"

Buffer = bytes | bytearray


def new_key() -> bytes:
    """A random 256-bit key (a DEK, or a KEK for the keyring stanza)."""
    return os.urandom(DEK_BYTES)


def wrap(kek: Buffer, dek: Buffer, aad: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(kek).encrypt(nonce, bytes(dek), aad)


def unwrap(kek: Buffer, nonce: bytes, wrapped: bytes, aad: bytes) -> bytearray | None:
    """The DEK, or None when the KEK is wrong or the stanza was altered."""
    try:
        return bytearray(AESGCM(kek).decrypt(nonce, wrapped, aad))
    except InvalidTag:
        return None


def payload_key(dek: Buffer, salt: bytes) -> bytes:
    return HKDF(hashes.SHA256(), DEK_BYTES, salt, PAYLOAD_INFO).derive(bytes(dek))


def seal(header: Header, dek: Buffer, plaintext: bytes) -> tuple[Header, bytes]:
    """Encrypt ``plaintext`` under a fresh salt and nonce; returns the new header and file bytes."""
    header = replace(
        header, payload_salt=os.urandom(PAYLOAD_SALT_BYTES), nonce=os.urandom(NONCE_BYTES)
    )
    header_bytes = serialize_header(header)
    key = payload_key(dek, header.payload_salt)
    ciphertext = AESGCM(key).encrypt(header.nonce, plaintext, header_bytes)
    return header, assemble(header_bytes, ciphertext)


def open_sealed(
    header: Header, header_bytes: bytes, ciphertext: bytes, dek: Buffer
) -> bytes | None:
    """The plaintext, or None when any byte of the header or payload was altered."""
    key = payload_key(dek, header.payload_salt)
    try:
        return AESGCM(key).decrypt(header.nonce, ciphertext, header_bytes)
    except InvalidTag:
        return None
