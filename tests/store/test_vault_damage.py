"""A damaged or hostile vault file: every failure is one line naming the file, nothing is written.

Exhaustive on purpose (docs/security.md, "What the tests try", A): the file truncated at every
length and every single bit flipped. The tiny KDF (64 KiB, t=1) keeps ~35,000 opens to a few
seconds.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kutui.errors import VaultAuthError, VaultError, VaultFormatError, VaultParamsError
from kutui.model import Credential
from kutui.secret import Secret
from kutui.store import kdf as kdfmod
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault
from kutui.store.vault_crypto import new_key
from kutui.store.vault_format import PassphraseStanza, parse, serialize_header
from tests.store.conftest import TINY_KDF

PASS = Secret("pw")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A small vault with both stanzas and one credential, and its bytes."""
    path = tmp_path_factory.mktemp("damage") / "vault.kv1"
    vault = Vault.create(
        path, passphrase=PASS, kdf=TINY_KDF, allow_weak=True, keyring_kek=new_key()
    )
    vault.update(
        lambda d: d.put("k", Credential(Secret("a" * 24), Secret("s" * 36), Secret("p" * 10)))
    )
    return path, path.read_bytes()


class Scratch:
    """The vault file under test, rewritten in place through one descriptor.

    35,000 truncating rewrites would cost ~2 ms each in filesystem metadata and dominate the
    test, so a bit flip rewrites one byte."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        os.ftruncate(self.fd, len(data))
        os.pwrite(self.fd, data, 0)
        self.data = bytearray(data)

    def poke(self, index: int, value: int) -> None:
        os.pwrite(self.fd, bytes((value,)), index)
        self.data[index] = value

    def open_fails(self) -> VaultError:
        """Try to open it; return the error. The file's bytes must not have changed."""
        try:
            Vault.open(self.path, passphrase=PASS)
        except VaultError as exc:
            assert os.pread(self.fd, len(self.data) + 1, 0) == self.data
            return exc
        raise AssertionError("a damaged vault opened")

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    file = Scratch(tmp_path / "vault.kv1")
    yield file
    file.close()


def open_bytes(path: Path, data: bytes) -> VaultError:
    """Write ``data`` as the vault, try to open it, return the error; the bytes must not change."""
    path.write_bytes(data)
    try:
        Vault.open(path, passphrase=PASS)
    except VaultError as exc:
        assert path.read_bytes() == data
        return exc
    raise AssertionError("a damaged vault opened")


def assert_one_line(exc: VaultError, path: Path) -> None:
    text = str(exc)
    assert text.startswith(f"{path}: ") and "\n" not in text, text


def test_the_fixture_vault_opens(sealed: tuple[Path, bytes], tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    path.write_bytes(sealed[1])
    assert Vault.open(path, passphrase=PASS).data.key_ids() == ["k"]


def test_truncated_at_every_length(sealed: tuple[Path, bytes], scratch: Scratch) -> None:
    path = scratch.path
    raw = sealed[1]
    for length in range(len(raw)):
        scratch.write(raw[:length])
        exc = scratch.open_fails()
        assert isinstance(exc, VaultFormatError), (length, exc)
        assert_one_line(exc, path)
        assert "truncated" in str(exc) or "empty" in str(exc), (length, str(exc))


def test_every_single_bit_flip_fails_closed(sealed: tuple[Path, bytes], scratch: Scratch) -> None:
    path = scratch.path
    raw = sealed[1]
    header_len = len(parse(raw, path)[1])
    scratch.write(raw)
    for index in range(len(raw)):
        for bit in range(8):
            scratch.poke(index, raw[index] ^ (1 << bit))
            exc = scratch.open_fails()
            scratch.poke(index, raw[index])
            assert_one_line(exc, path)
            if index >= header_len + 4:  # ciphertext and tag: only authentication can notice
                assert isinstance(exc, VaultAuthError), (index, bit)
                assert str(exc) == f"{path}: wrong passphrase, or the vault is damaged"


@pytest.mark.parametrize("extra", [b"\0", b"garbage", b"\0" * 4096])
def test_trailing_garbage(sealed: tuple[Path, bytes], tmp_path: Path, extra: bytes) -> None:
    path = tmp_path / "vault.kv1"
    exc = open_bytes(path, sealed[1] + extra)
    assert isinstance(exc, VaultFormatError) and "trailing" in str(exc)
    assert_one_line(exc, path)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"K", "truncated"),
        (b"PK\x03\x04 a zip file", "not a kutui vault"),
        (b"KUTUIW" + bytes(100), "not a kutui vault"),
        (b"KUTUIV\x02\x00" + bytes(100), "format 2.0"),
        (b"KUTUIV\x01\x00\xff\xff\xff\xff", "not a kutui vault"),
    ],
)
def test_not_a_vault(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "vault.kv1"
    exc = open_bytes(path, data)
    assert isinstance(exc, VaultFormatError) and words in str(exc), str(exc)
    assert_one_line(exc, path)


def test_newer_minor_version_still_reads_the_header(
    sealed: tuple[Path, bytes], tmp_path: Path
) -> None:
    """A 1.x file parses; the version is authenticated: an edited minor fails auth, not format."""
    path = tmp_path / "vault.kv1"
    raw = bytearray(sealed[1])
    raw[7] = 5
    assert isinstance(open_bytes(path, bytes(raw)), VaultAuthError)


# ------------------------------------------------------------------ hostile KDF parameters


def craft(raw: bytes, path: Path, params: KdfParams, salt: bytes | None = None) -> bytes:
    """Rewrite the passphrase stanza's parameters (and salt) in an otherwise valid file."""
    header, header_bytes, ciphertext = parse(raw, path)
    stanza = header.passphrase_stanza()
    assert stanza is not None
    new = PassphraseStanza(
        params=params,
        salt=stanza.salt if salt is None else salt,
        nonce=stanza.nonce,
        wrapped=stanza.wrapped,
    )
    rebuilt = serialize_header(header.with_stanza(new))
    return rebuilt + struct.pack(">I", len(ciphertext)) + ciphertext


GiB_KIB = 1024 * 1024
HOSTILE = [
    replace(TINY_KDF, memory_kib=0),
    replace(TINY_KDF, memory_kib=GiB_KIB + 8),
    replace(TINY_KDF, memory_kib=GiB_KIB, iterations=4),  # over 4x the default's work
    replace(TINY_KDF, memory_kib=0xFFFFFFFF),
    replace(TINY_KDF, iterations=0),
    replace(TINY_KDF, iterations=11),
    replace(TINY_KDF, iterations=0xFFFFFFFF),
    replace(TINY_KDF, lanes=0),
    replace(TINY_KDF, lanes=17),
    replace(TINY_KDF, lanes=4, memory_kib=31),  # below Argon2's 8 KiB per lane
    KdfParams(kdf="scrypt", log_n=0),
    KdfParams(kdf="scrypt", log_n=23),
    KdfParams(kdf="scrypt", log_n=255),
    KdfParams(kdf="scrypt", log_n=14, r=0),
    KdfParams(kdf="scrypt", log_n=14, r=1000),
    KdfParams(kdf="scrypt", log_n=14, p=0),
    KdfParams(kdf="scrypt", log_n=14, p=17),
    KdfParams(kdf="scrypt", log_n=22, r=32),  # 16 GiB
    KdfParams(kdf="scrypt", log_n=22, r=8, p=16),  # 4 GiB, 228 s per attempt
    KdfParams(kdf="scrypt", log_n=20),  # 1 GiB: over 4x the default's work
    KdfParams(kdf="scrypt", log_n=17, p=5),
]


@pytest.fixture
def kdf_must_not_run(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def spy(*args: object) -> bytes:
        calls.append(args)
        raise AssertionError("the KDF ran on a hostile header")

    monkeypatch.setattr(kdfmod, "derive", spy)
    return calls


@pytest.mark.parametrize("params", HOSTILE, ids=lambda p: p.describe())
def test_kdf_params_over_the_caps_are_refused_before_the_kdf(
    sealed: tuple[Path, bytes], tmp_path: Path, params: KdfParams, kdf_must_not_run: list[object]
) -> None:
    path = tmp_path / "vault.kv1"
    exc = open_bytes(path, craft(sealed[1], path, params))
    assert isinstance(exc, VaultParamsError), str(exc)
    assert "refusing to run the KDF" in str(exc)
    assert_one_line(exc, path)
    assert kdf_must_not_run == []


@pytest.mark.parametrize("salt_len", [0, 15, 17, 255])
def test_salt_of_the_wrong_size_is_refused(
    sealed: tuple[Path, bytes], tmp_path: Path, salt_len: int, kdf_must_not_run: list[object]
) -> None:
    path = tmp_path / "vault.kv1"
    exc = open_bytes(path, craft(sealed[1], path, TINY_KDF, salt=bytes(salt_len)))
    assert isinstance(exc, VaultParamsError) and f"salt is {salt_len} bytes" in str(exc)
    assert kdf_must_not_run == []


def test_unknown_kdf_id_is_refused(
    sealed: tuple[Path, bytes], tmp_path: Path, kdf_must_not_run: list[object]
) -> None:
    path = tmp_path / "vault.kv1"
    raw = bytearray(craft(sealed[1], path, TINY_KDF))
    header, _, _ = parse(bytes(raw), path)
    # The passphrase stanza is first: prefix 12 + fixed 26 + stanza head 3 → its KDF id byte.
    kdf_at = 12 + 26 + 3
    assert raw[kdf_at] == 1
    raw[kdf_at] = 9
    exc = open_bytes(path, bytes(raw))
    assert isinstance(exc, VaultParamsError) and "unknown KDF" in str(exc)
    assert kdf_must_not_run == []


# ------------------------------------------------------------------ parts from another vault


def two_vaults(tmp_path: Path, kek: bytes) -> tuple[Path, Path]:
    paths = (tmp_path / "a.kv1", tmp_path / "b.kv1")
    for path in paths:
        Vault.create(path, passphrase=PASS, kdf=TINY_KDF, allow_weak=True, keyring_kek=kek)
    return paths


def test_a_stanza_from_another_vault_does_not_open_it(tmp_path: Path) -> None:
    kek = new_key()
    a, b = two_vaults(tmp_path, kek)
    header_a, _, ciphertext_a = parse(a.read_bytes(), a)
    header_b, _, _ = parse(b.read_bytes(), b)
    stanza_b = header_b.keyring_stanza()
    assert stanza_b is not None
    mixed = serialize_header(header_a.with_stanza(stanza_b))
    a.write_bytes(mixed + struct.pack(">I", len(ciphertext_a)) + ciphertext_a)
    with pytest.raises(VaultAuthError):
        Vault.open(a, keyring_kek=kek)


def test_a_payload_from_another_vault_does_not_open(tmp_path: Path) -> None:
    a, b = two_vaults(tmp_path, new_key())
    _, header_bytes_a, _ = parse(a.read_bytes(), a)
    _, _, ciphertext_b = parse(b.read_bytes(), b)
    a.write_bytes(header_bytes_a + struct.pack(">I", len(ciphertext_b)) + ciphertext_b)
    with pytest.raises(VaultAuthError):
        Vault.open(a, passphrase=PASS)
