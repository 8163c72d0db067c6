"""The vault as a user meets it: create, open, save, passphrases, backups, rollback, modes."""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.errors import (
    KeyNotFound,
    UnlockError,
    UnsafeFileError,
    VaultAuthError,
    VaultError,
    VaultNotFound,
    WeakKdfError,
)
from kutui.model import Credential, Slot
from kutui.redact import redact
from kutui.secret import Secret
from kutui.store import kdf
from kutui.store import vault as vault_module
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault, VaultData, peek
from kutui.store.vault_crypto import new_key, open_sealed, unwrap
from kutui.store.vault_format import STANZA_PASSPHRASE, parse, wrap_aad
from tests.store.conftest import TINY_KDF

PASS = Secret("correct horse battery staple")
GOLDEN = Path(__file__).parent / "data" / "vault-v1.0.kv1"


def cred(n: int = 0, version: int = 3) -> Credential:
    return Credential(
        api_key=Secret(f"{n:024x}"),
        api_secret=Secret(f"secret-{n}"),
        passphrase=Secret(f"pass-{n}"),
        api_version=version,
        saved_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def make(path: Path, passphrase: Secret | None = PASS, **kw: object) -> Vault:
    return Vault.create(path, passphrase=passphrase, kdf=TINY_KDF, allow_weak=True, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ round trip

texts = st.text(max_size=40)
aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]))
credentials = st.builds(
    Credential,
    api_key=texts.map(Secret),
    api_secret=texts.map(Secret),
    passphrase=texts.map(Secret),
    api_version=st.integers(1, 3),
    saved_at=st.none() | aware | st.datetimes(),
)
payloads = st.dictionaries(
    st.text(min_size=1, max_size=20),
    st.dictionaries(st.sampled_from(list(Slot)), credentials, min_size=1),
    max_size=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=payloads)
def test_any_payload_survives_save_and_open(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, dict[Slot, Credential]]
) -> None:
    path = tmp_path_factory.mktemp("rt") / "vault.kv1"
    vault = make(path)

    def fill(data: VaultData) -> None:
        for key_id, slots in keys.items():
            for slot, credential in slots.items():
                data.put(key_id, credential, slot)

    vault.update(fill)
    reopened = Vault.open(path, passphrase=PASS)
    assert reopened.data == VaultData(keys)
    assert reopened.data.key_ids() == sorted(keys)
    for key_id, slots in keys.items():
        assert reopened.data.slots(key_id) == slots


def test_file_size_hides_the_key_count(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    empty = path.stat().st_size

    def five(data: VaultData) -> None:
        for n in range(5):
            data.put(f"k{n}", cred(n))

    vault.update(five)
    assert path.stat().st_size == empty  # both fit in the first 4 KiB step


def test_golden_v1_file_still_opens() -> None:
    """Frozen bytes from format 1.0 (keyrings.cryptfile#15: the layout is part of the format)."""
    vault = Vault.open(GOLDEN, passphrase=Secret("golden passphrase"))
    assert vault.data.key_ids() == ["key-1"]
    assert vault.data.get("key-1") == cred(1)
    assert vault.data.get("key-1", Slot.PENDING) == cred(2, version=2)
    assert peek(GOLDEN).generation == 2


# ------------------------------------------------------------------ passphrases


def test_wrong_passphrase_is_one_clear_line_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path).update(lambda d: d.put("k", cred()))
    before = path.read_bytes()
    with pytest.raises(VaultAuthError) as info:
        Vault.open(path, passphrase=Secret("Correct horse battery staple"))
    message = str(info.value)
    assert message == f"{path}: wrong passphrase, or the vault is damaged"
    assert "\n" not in message
    assert path.read_bytes() == before


def test_nfc_and_nfd_spellings_open_the_same_vault(tmp_path: Path) -> None:
    text = "Müllerstraße café ñandú"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != unicodedata.normalize("NFC", text)
    path = tmp_path / "vault.kv1"
    make(path, passphrase=Secret(nfd))
    assert Vault.open(path, passphrase=Secret(unicodedata.normalize("NFC", text))).generation == 1


@pytest.mark.parametrize(
    "passphrase",
    ["x" * (1024 * 1024), "before\0after", "\0", "emoji 🔑 and\ttab"],
    ids=["1MiB", "nul-inside", "only-nul", "emoji"],
)
def test_unusual_passphrases_work_and_differ(tmp_path: Path, passphrase: str) -> None:
    path = tmp_path / "vault.kv1"
    make(path, passphrase=Secret(passphrase)).update(lambda d: d.put("k", cred()))
    assert Vault.open(path, passphrase=Secret(passphrase)).data.get("k") == cred()
    with pytest.raises(VaultAuthError):
        Vault.open(path, passphrase=Secret(passphrase[:-1] + "y"))


def test_empty_passphrase_is_refused_at_creation(tmp_path: Path) -> None:
    with pytest.raises(UnlockError):
        make(tmp_path / "vault.kv1", passphrase=Secret(""))
    assert not (tmp_path / "vault.kv1").exists()


def test_weak_kdf_is_refused_without_allow_weak(tmp_path: Path) -> None:
    with pytest.raises(WeakKdfError):
        Vault.create(tmp_path / "vault.kv1", passphrase=PASS, kdf=TINY_KDF)
    assert not (tmp_path / "vault.kv1").exists()


def test_set_passphrase_keeps_data_and_keyring(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    kek = new_key()
    vault = make(path, keyring_kek=kek)
    vault.update(lambda d: d.put("k", cred()))
    vault.set_passphrase(Secret("new passphrase"), TINY_KDF, keyring_kek=kek, allow_weak=True)
    with pytest.raises(VaultAuthError):
        Vault.open(path, passphrase=PASS)
    assert Vault.open(path, passphrase=Secret("new passphrase")).data.get("k") == cred()
    by_keyring = Vault.open(path, keyring_kek=kek)
    assert by_keyring.unlocked_by == "keyring"
    assert by_keyring.data.get("k") == cred()
    vault.update(lambda d: d.put("k2", cred(2)))  # the open vault saves under the new key
    assert Vault.open(path, keyring_kek=kek).data.get("k2") == cred(2)


def _old_dek(raw: bytes, path: Path, passphrase: Secret) -> bytearray:
    """What an attacker holding an old copy and the old passphrase gets: the data key."""
    header, _, _ = parse(raw, path)
    stanza = header.passphrase_stanza()
    assert stanza is not None
    kek = kdf.derive(passphrase, stanza.salt, stanza.params)
    dek = unwrap(kek, stanza.nonce, stanza.wrapped, wrap_aad(header, STANZA_PASSPHRASE))
    assert dek is not None
    return dek


def test_an_old_copy_and_the_old_passphrase_do_not_open_the_vault_after_passwd(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    vault.update(lambda d: d.put("k", cred()))
    stolen = path.read_bytes()
    old_dek = _old_dek(stolen, path, PASS)
    header, header_bytes, ciphertext = parse(stolen, path)
    assert open_sealed(header, header_bytes, ciphertext, old_dek) is not None  # it did open
    vault.set_passphrase(Secret("new passphrase"), TINY_KDF, allow_weak=True)
    header, header_bytes, ciphertext = parse(path.read_bytes(), path)
    assert open_sealed(header, header_bytes, ciphertext, old_dek) is None
    assert Vault.open(path, passphrase=Secret("new passphrase")).data.get("k") == cred()
    # The backup is the old copy: it still opens with the old passphrase until removed.
    assert Vault.open(vault.backup_path(1), passphrase=PASS).data.get("k") == cred()
    assert vault.remove_backups() == [vault.backup_path(1), vault.backup_path(2)]
    assert vault.backup_files() == []


def test_set_passphrase_without_the_keyring_key_drops_the_keyring_stanza(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    kek = new_key()
    vault = make(path, keyring_kek=kek)
    vault.set_passphrase(Secret("new passphrase"), TINY_KDF, allow_weak=True)
    assert not vault.has_keyring_stanza and peek(path).stanzas == ("passphrase",)
    with pytest.raises(VaultAuthError):
        Vault.open(path, keyring_kek=kek)


def test_keyring_stanza_can_be_added_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    assert not vault.has_keyring_stanza
    kek = new_key()
    vault.enable_keyring(kek)
    assert (vault.has_keyring_stanza, peek(path).stanzas) == (True, ("passphrase", "keyring"))
    assert Vault.open(path, keyring_kek=kek).generation == vault.generation
    vault.disable_keyring()
    assert peek(path).stanzas == ("passphrase",)
    with pytest.raises(VaultAuthError):
        Vault.open(path, keyring_kek=kek)


def test_keyring_only_vault_refuses_to_drop_its_last_unlock(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = Vault.create(path, passphrase=None, keyring_kek=new_key())
    before = path.read_bytes()
    with pytest.raises(VaultError, match="no passphrase stanza"):
        vault.disable_keyring()
    assert path.read_bytes() == before


def test_a_wrong_keyring_key_falls_back_to_the_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path, keyring_kek=new_key())
    vault = Vault.open(path, keyring_kek=new_key(), passphrase=PASS)
    assert vault.unlocked_by == "passphrase"
    assert any("keyring" in w for w in vault.warnings)


def test_open_needs_some_way_in(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path)
    with pytest.raises(UnlockError):
        Vault.open(path)


# ------------------------------------------------------------------ files


def test_missing_vault_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound, match="kutui init"):
        Vault.open(tmp_path / "vault.kv1", passphrase=PASS)


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path).update(lambda d: d.put("k", cred()))
    before = path.read_bytes()
    with pytest.raises(VaultError, match="already exists"):
        make(path)
    assert path.read_bytes() == before


def test_files_are_private_even_under_umask_000(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "fresh" / "vault.kv1"
        vault = make(path)
        vault.update(lambda d: d.put("k", cred()))
        vault.update(lambda d: None)
    finally:
        os.umask(old)
    for entry in [
        path,
        vault.backup_path(1),
        vault.backup_path(2),
        path.with_name("vault.kv1.lock"),
    ]:
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600, entry
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_backups_rotate_and_keep_three(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    for n in range(6):
        vault.update(lambda d, n=n: d.put(f"k{n}", cred(n)))  # type: ignore[misc]
    assert vault.generation == 7
    backups = sorted(p.name for p in tmp_path.glob("vault.kv1.bak.*"))
    assert backups == ["vault.kv1.bak.1", "vault.kv1.bak.2", "vault.kv1.bak.3"]
    # .bak.1 is the generation before the current one, .bak.3 three saves back.
    for n, generation in ((1, 6), (2, 5), (3, 4)):
        old = Vault.open(vault.backup_path(n), passphrase=PASS)
        assert old.generation == generation
        assert len(old.data) == generation - 1


def test_rollback_shows_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    for _ in range(3):
        vault.update(lambda d: None)
    os.replace(vault.backup_path(2), path)  # an old copy restored
    reopened = Vault.open(path, passphrase=PASS, seen_generation=4)
    assert reopened.generation == 2
    assert reopened.rollback_warning is not None and "generation 2" in reopened.rollback_warning
    assert Vault.open(path, passphrase=PASS, seen_generation=2).rollback_warning is None


def test_update_notices_a_rollback_behind_its_back(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    vault.update(lambda d: None)
    vault.update(lambda d: None)
    os.replace(vault.backup_path(1), path)
    vault.update(lambda d: None)
    assert vault.rollback_warning is not None


def test_failed_update_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    vault.update(lambda d: d.put("k", cred()))
    before = path.read_bytes()

    def broken(data: VaultData) -> None:
        data.remove_key("k")
        raise KeyNotFound("boom")

    with pytest.raises(KeyNotFound):
        vault.update(broken)
    assert path.read_bytes() == before
    assert vault.data.get("k") == cred()


def test_update_sees_another_writers_save(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    first = make(path)
    second = Vault.open(path, passphrase=PASS)
    first.update(lambda d: d.put("a", cred(1)))
    second.update(lambda d: d.put("b", cred(2)))
    assert Vault.open(path, passphrase=PASS).data.key_ids() == ["a", "b"]
    first.reload()
    assert first.data.key_ids() == ["a", "b"]


def test_close_drops_the_data(tmp_path: Path) -> None:
    vault = make(tmp_path / "vault.kv1")
    vault.close()
    with pytest.raises(UnlockError):
        _ = vault.data
    with pytest.raises(UnlockError):
        vault.update(lambda d: None)


def test_opened_secrets_are_masked_in_logs(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path).update(lambda d: d.put("k", cred(7)))
    opened = Vault.open(path, passphrase=PASS).data.get("k")
    assert opened is not None
    line = f"signing with {opened.api_secret.reveal()} and {opened.passphrase.reveal()}"
    assert "secret-7" not in redact(line) and "pass-7" not in redact(line)
    assert "secret-7" not in repr(opened)


def test_peek_reads_the_header_without_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    info = peek(path)
    assert info.uuid == vault.uuid and info.generation == 1 and info.version == "1.0"
    assert info.kdf == TINY_KDF and info.stanzas == ("passphrase",)


# ------------------------------------------------------------------ VaultData


def test_promote_moves_pending_to_current_and_current_to_previous() -> None:
    data = VaultData()
    data.put("k", cred(1))
    data.put("k", cred(2), Slot.PENDING)
    data.promote("k")
    assert data.slots("k") == {Slot.CURRENT: cred(2), Slot.PREVIOUS: cred(1)}
    with pytest.raises(KeyNotFound):
        data.promote("k")
    data.drop("k", Slot.PREVIOUS)
    data.drop("k", Slot.CURRENT)
    assert data.key_ids() == []


def test_default_kdf_is_argon2id_256mib() -> None:
    assert KdfParams() == KdfParams("argon2id", 256 * 1024, 3, 4)


def test_symlinked_vault_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.kv1"
    make(real)
    (tmp_path / "vault.kv1").symlink_to(real)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Vault.open(tmp_path / "vault.kv1", passphrase=PASS)


def test_vault_readable_by_others_warns(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    make(path)
    os.chmod(path, 0o644)
    vault = Vault.open(path, passphrase=PASS)
    assert any("0644" in w for w in vault.warnings)


def test_fewer_backups_configured_removes_the_extra_ones(tmp_path: Path) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    for _ in range(4):
        vault.update(lambda d: None)
    assert len(list(tmp_path.glob("vault.kv1.bak.*"))) == 3
    vault.backups = 1
    vault.update(lambda d: None)
    assert sorted(p.name for p in tmp_path.glob("vault.kv1.bak.*")) == ["vault.kv1.bak.1"]
    vault.backups = 0
    vault.update(lambda d: None)
    assert list(tmp_path.glob("vault.kv1.bak.*")) == []


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_a_failed_write_is_one_line_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    path = tmp_path / "vault.kv1"
    vault = make(path)
    vault.update(lambda d: d.put("k", cred()))
    before = path.read_bytes()

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(vault_module, "atomic_write", failing)
    with pytest.raises(VaultError) as info:
        vault.update(lambda d: d.remove_key("k"))
    assert (
        str(info.value) == f"{path}: could not be saved ({os.strerror(err)}); the file is unchanged"
    )
    assert path.read_bytes() == before
    assert vault.data.get("k") == cred() and vault.generation == 2
