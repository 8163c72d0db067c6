"""KDF choice, minimums at creation, caps on read, scrypt fallback, NFC."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf import argon2
from hypothesis import given
from hypothesis import strategies as st

from kutui.errors import VaultParamsError, WeakKdfError
from kutui.secret import Secret
from kutui.store import kdf
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault, peek
from tests.store.conftest import TINY_KDF

SALT = bytes(range(16))


def test_default_is_argon2id_when_available() -> None:
    assert kdf.argon2_available()
    assert kdf.default_params() == KdfParams("argon2id", 256 * 1024, 3, 4)


def test_default_is_scrypt_without_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kdf, "argon2_available", lambda: False)
    assert kdf.default_params() == KdfParams(kdf="scrypt", log_n=17, r=8, p=1)


def test_create_falls_back_to_scrypt_when_argon2id_is_unsupported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class NoArgon2:
        def __init__(self, **kwargs: object) -> None:
            raise UnsupportedAlgorithm("This version of OpenSSL does not support argon2id")

    monkeypatch.setattr(argon2, "Argon2id", NoArgon2)
    path = tmp_path / "vault.kv1"
    Vault.create(path, passphrase=Secret("pw"), kdf=TINY_KDF, allow_weak=True)
    info = peek(path)
    assert info.kdf == KdfParams(kdf="scrypt", log_n=17, r=8, p=1)
    monkeypatch.undo()
    assert Vault.open(path, passphrase=Secret("pw")).kdf == info.kdf


@pytest.mark.parametrize(
    "params",
    [
        KdfParams(memory_kib=64 * 1024 - 1),
        KdfParams(iterations=2),
        KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1),  # OWASP's online-server minimum
        KdfParams(kdf="scrypt", log_n=15),
    ],
    ids=lambda p: p.describe(),
)
def test_weak_params_are_refused_at_creation(params: KdfParams) -> None:
    with pytest.raises(WeakKdfError, match="too weak"):
        kdf.check_create(params)
    kdf.check_create(params, allow_weak=True)  # tests may


@pytest.mark.parametrize(
    "params",
    [KdfParams(), KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4), KdfParams(kdf="scrypt")],
    ids=lambda p: p.describe(),
)
def test_recommended_params_are_accepted(params: KdfParams) -> None:
    kdf.check_create(params)
    kdf.check_read(params, 16, Path("v"))


def test_unknown_kdf_is_refused_at_creation() -> None:
    with pytest.raises(WeakKdfError, match="unknown KDF"):
        kdf.check_create(KdfParams(kdf="pbkdf2"))


@pytest.mark.parametrize(
    "params",
    [
        KdfParams(memory_kib=1024 * 1024),  # 1 GiB x 3 passes: 4x the default's work
        KdfParams(iterations=10, lanes=16),
        KdfParams(kdf="scrypt", log_n=19),  # N*r = 4x the default, 512 MiB
        KdfParams(kdf="scrypt", log_n=17, p=4),
    ],
    ids=lambda p: p.describe(),
)
def test_values_at_the_caps_are_still_readable(params: KdfParams) -> None:
    kdf.check_read(params, 16, Path("v"))


@pytest.mark.parametrize(
    ("params", "why"),
    [
        (KdfParams(kdf="scrypt", log_n=22, r=8, p=16), "scrypt memory 128*r*N is over 1 GiB"),
        (KdfParams(kdf="scrypt", log_n=18, r=8, p=3), "scrypt work N*r*p is over 4x the default"),
        (KdfParams(memory_kib=1024 * 1024 + 8), "argon2id memory 1048584 KiB outside"),
        (KdfParams(memory_kib=1024 * 1024, iterations=4), "argon2id memory x iterations"),
    ],
    ids=lambda p: p.describe() if isinstance(p, KdfParams) else "",
)
def test_one_unlock_costs_at_most_4x_the_default(params: KdfParams, why: str) -> None:
    with pytest.raises(VaultParamsError, match=why.replace("*", r"\*")):
        kdf.check_read(params, 16, Path("/x/vault.kv1"))
    with pytest.raises(WeakKdfError, match="kutui refuses to read such a vault"):
        kdf.check_create(params)  # nor may kutui create a vault it would then refuse


def test_caps_name_the_file_and_the_value() -> None:
    with pytest.raises(VaultParamsError) as info:
        kdf.check_read(replace(TINY_KDF, iterations=11), 16, Path("/x/vault.kv1"))
    assert str(info.value) == (
        "/x/vault.kv1: passphrase stanza: argon2id iterations 11 outside 1..10;"
        " refusing to run the KDF"
    )


@given(st.text(min_size=1, max_size=30))
def test_nfc_and_nfd_derive_the_same_key(text: str) -> None:
    nfc = kdf.derive(Secret(unicodedata.normalize("NFC", text)), SALT, TINY_KDF)
    nfd = kdf.derive(Secret(unicodedata.normalize("NFD", text)), SALT, TINY_KDF)
    assert nfc == nfd and len(nfc) == 32


def test_salt_and_params_change_the_key() -> None:
    base = kdf.derive(Secret("pw"), SALT, TINY_KDF)
    assert kdf.derive(Secret("pw"), bytes(16), TINY_KDF) != base
    assert kdf.derive(Secret("pw"), SALT, replace(TINY_KDF, iterations=2)) != base
    assert kdf.derive(Secret("pw"), SALT, KdfParams(kdf="scrypt", log_n=10)) != base
