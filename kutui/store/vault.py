"""The vault, format v1 (docs/security.md, "Vault format v1"): one encrypted file holding every
credential.

A random data key (DEK) encrypts the payload; unlock stanzas in the header wrap that DEK with a
passphrase-derived key and/or a keyring-held key. Opening reads the file once, changes nothing on
disk, and fails with one line naming the file. Every save happens under the sidecar lock, re-reads
the file with the DEK already held (another kutui may have saved since), bumps the generation,
keeps N hard-linked backups and replaces the file atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from cryptography.exceptions import UnsupportedAlgorithm

from kutui import redact
from kutui.errors import (
    KeyNotFound,
    UnlockError,
    VaultAuthError,
    VaultError,
    VaultFormatError,
    VaultNotFound,
)
from kutui.model import Credential, Slot
from kutui.secret import Secret
from kutui.store import kdf as kdfmod
from kutui.store.files import atomic_write, check_private, locked, read_private
from kutui.store.gc_pause import no_gc_pauses
from kutui.store.kdf import KdfParams
from kutui.store.keyring_agent import keyring_username
from kutui.store.vault_crypto import new_key, open_sealed, seal, unwrap, wrap
from kutui.store.vault_format import (
    NONCE_BYTES,
    PAYLOAD_SALT_BYTES,
    STANZA_KEYRING,
    STANZA_NAMES,
    STANZA_PASSPHRASE,
    Header,
    KeyringStanza,
    PassphraseStanza,
    pad_payload,
    parse,
    unpad_payload,
    wrap_aad,
)

__all__ = ["KdfParams", "Unusable", "Vault", "VaultData", "VaultInfo", "peek"]

T = TypeVar("T")

SCHEMA = 1
AUTH_FAILED = "wrong passphrase, or the vault is damaged"


@dataclass(frozen=True)
class Unusable:
    """A vault entry that decrypted but cannot be used: where it is and why, never its content
    (``kutui.store.entries`` names it for the user).

    ``slot`` is the slot's name as stored (it may not be a known slot), or None when the whole
    entry of ``key_id`` is unusable."""

    key_id: str
    slot: str | None
    why: str


class VaultData:
    """The decrypted payload: per key id, credentials in CURRENT / PENDING / PREVIOUS slots.

    An entry that cannot be read (a value that is not text, e.g. stored from non-UTF-8 input by
    an older kutui) does not make the vault unreadable: it is kept raw, exactly as stored, saved
    back unchanged, reported by ``unusable()``, and dropped only by ``drop``/``remove_key``. To
    every other reader it is absent (``get`` gives None), so one bad entry never stops the rest.
    """

    def __init__(
        self,
        keys: dict[str, dict[Slot, Credential]] | None = None,
        raw: dict[str, dict[str, tuple[Any, str]]] | None = None,
        whole: dict[str, tuple[Any, str]] | None = None,
    ) -> None:
        # A key's slots, or (read by ``from_json``) the same slots still as stored, each found
        # usable already: ``_slots_of`` makes them ``Credential``s on first use. A one-key
        # ``kutui check`` on a 10,000-key vault needs one of them (bench/yardstick.py).
        self._keys: dict[str, dict[Slot, Credential] | _Encoded] = (
            cast("dict[str, dict[Slot, Credential] | _Encoded]", keys) if keys is not None else {}
        )
        # key id -> stored slot name -> (the JSON value as read, why it cannot be used)
        self._raw: dict[str, dict[str, tuple[Any, str]]] = raw if raw is not None else {}
        # key id -> (an entry that is not even a table of slots, why)
        self._whole: dict[str, tuple[Any, str]] = whole if whole is not None else {}

    def _slots_of(self, key_id: str) -> dict[Slot, Credential] | None:
        found = self._keys.get(key_id)
        if isinstance(found, _Encoded):
            found = self._keys[key_id] = found.decode()
        return found

    def _decode_all(self) -> dict[str, dict[Slot, Credential]]:
        for key_id in self._keys:
            self._slots_of(key_id)
        return cast("dict[str, dict[Slot, Credential]]", self._keys)

    def get(self, key_id: str, slot: Slot = Slot.CURRENT) -> Credential | None:
        slots = self._slots_of(key_id)
        return slots.get(slot) if slots is not None else None

    def slots(self, key_id: str) -> dict[Slot, Credential]:
        return dict(self._slots_of(key_id) or {})

    def put(self, key_id: str, credential: Credential, slot: Slot = Slot.CURRENT) -> None:
        self._forget_raw(key_id, slot.value)
        slots = self._slots_of(key_id)
        if slots is None:
            slots = self._keys[key_id] = {}
        slots[slot] = credential

    def drop(self, key_id: str, slot: Slot) -> None:
        self._forget_raw(key_id, slot.value)
        slots = self._slots_of(key_id)
        if slots is not None:
            slots.pop(slot, None)
            if not slots:
                del self._keys[key_id]

    def remove_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        self._raw.pop(key_id, None)
        self._whole.pop(key_id, None)

    def _forget_raw(self, key_id: str, slot_name: str) -> None:
        self._whole.pop(key_id, None)  # a blob that is not a table cannot sit beside a new slot
        raw = self._raw.get(key_id)
        if raw is not None:
            raw.pop(slot_name, None)
            if not raw:
                del self._raw[key_id]

    def unusable(self) -> list[Unusable]:
        found = [Unusable(key_id, None, why) for key_id, (_, why) in self._whole.items()]
        found += [
            Unusable(key_id, slot_name, why)
            for key_id, slots in self._raw.items()
            for slot_name, (_, why) in slots.items()
        ]
        return sorted(found, key=lambda u: (u.key_id, u.slot or ""))

    def problem(self, key_id: str, slot: Slot = Slot.CURRENT) -> Unusable | None:
        """Why ``key_id``'s ``slot`` is unusable, or None when it is fine or absent."""
        if key_id in self._whole:
            return Unusable(key_id, None, self._whole[key_id][1])
        raw = self._raw.get(key_id, {})
        return Unusable(key_id, slot.value, raw[slot.value][1]) if slot.value in raw else None

    def promote(self, key_id: str) -> None:
        """PENDING -> CURRENT and CURRENT -> PREVIOUS, in memory (saved by the enclosing update)."""
        slots = self._slots_of(key_id) or {}
        pending = slots.get(Slot.PENDING)
        if pending is None:
            raise KeyNotFound(f"key {key_id} has no PENDING credential to promote")
        current = slots.get(Slot.CURRENT)
        if current is not None:
            slots[Slot.PREVIOUS] = current
        else:
            # An unusable CURRENT moves along (nothing is lost unless the user removes it).
            raw = self._raw.get(key_id, {})
            if Slot.CURRENT.value in raw:
                raw[Slot.PREVIOUS.value] = raw.pop(Slot.CURRENT.value)
        slots[Slot.CURRENT] = pending
        del slots[Slot.PENDING]

    def key_ids(self) -> list[str]:
        """Every key id with an entry, usable or not."""
        return sorted({*self._keys, *self._raw, *self._whole})

    def __len__(self) -> int:
        return len(self._keys.keys() | self._raw.keys() | self._whole.keys())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VaultData):
            return NotImplemented
        return (self._decode_all(), self._raw, self._whole) == (
            other._decode_all(),
            other._raw,
            other._whole,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        bad = len(self._raw.keys() | self._whole.keys())
        bad_text = f", {bad} with unusable entries" if bad else ""
        return f"VaultData({len(self)} keys{bad_text})"

    # --- payload JSON (inside the encryption only) ---

    def to_json(self) -> bytes:
        keys: dict[str, Any] = {}
        for key_id, slots in self._keys.items():
            if isinstance(slots, _Encoded):  # as decoding and _credential_json would write it
                keys[key_id] = {name: _encoded_json(value) for name, value in slots.slots.items()}
            else:
                keys[key_id] = {slot.value: _credential_json(cred) for slot, cred in slots.items()}
        for key_id, raw in self._raw.items():
            keys.setdefault(key_id, {}).update({name: value for name, (value, _) in raw.items()})
        for key_id, (value, _) in self._whole.items():
            keys[key_id] = value
        # ensure_ascii (the default): a lone surrogate kept raw is written as an escape.
        return json.dumps({"schema": SCHEMA, "keys": keys}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, plain: bytes, path: Path) -> VaultData:
        def bad(problem: str) -> VaultFormatError:
            return VaultFormatError(path, f"decrypted payload {problem}")

        try:
            with no_gc_pauses():
                doc = json.loads(plain)
        except ValueError:
            raise bad("is not valid JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), dict):
            raise bad("has no 'keys' table")
        if doc.get("schema") != SCHEMA:
            raise bad(f"has schema {doc.get('schema')!r}; this kutui reads schema {SCHEMA}")
        with no_gc_pauses():
            return cls._validated(doc["keys"], _may_hold_surrogates(plain))

    @classmethod
    def _validated(cls, entries: dict[str, Any], check_text: bool) -> VaultData:
        data = cls()
        keys, raw, whole = data._keys, data._raw, data._whole
        for key_id, slots in entries.items():
            if not isinstance(slots, dict):
                whole[key_id] = (slots, "its slots are not a table")
                continue
            if not check_text and all(_plainly_usable(name, v) for name, v in slots.items()):
                keys[key_id] = _Encoded(slots)  # the common case: every slot as to_json wrote it
                continue
            for slot_name, value in slots.items():
                why = _problem(slot_name, value, check_text)
                if why is not None:
                    raw.setdefault(key_id, {})[slot_name] = (value, why)
                    continue
                encoded = keys.get(key_id)
                if encoded is None:
                    encoded = keys[key_id] = _Encoded({})
                cast(_Encoded, encoded).slots[slot_name] = value
        return data


class _Encoded:
    """One key's usable slots as the payload holds them (slot name -> the JSON table), in the
    payload's order; ``decode`` makes them what ``_credential_from`` makes, secrets registered
    for redaction then (kutui/redact.py: only a decoded secret can be revealed, logged or
    shown)."""

    __slots__ = ("slots",)

    def __init__(self, slots: dict[str, dict[str, Any]]) -> None:
        self.slots = slots

    def decode(self) -> dict[Slot, Credential]:
        return {_SLOTS[name]: _credential(value) for name, value in self.slots.items()}


def _may_hold_surrogates(plain: bytes) -> bool:
    """False when no string ``json.loads(plain)`` returns can hold a lone surrogate, so
    ``_is_text`` need not look at each value (30,000 of them in a 10,000-key vault).

    json.loads decodes bytes with ``surrogatepass``: a lone surrogate comes from a ``\\ud...``
    escape (``to_json`` writes one for each) or from bytes that are not strict UTF-8."""
    if b"\\ud" in plain or b"\\uD" in plain or json.detect_encoding(plain) != "utf-8":
        return True
    try:
        plain.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class _BadEntry(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _credential_json(cred: Credential) -> dict[str, Any]:
    return {
        "api_key": cred.api_key.reveal(),
        "api_secret": cred.api_secret.reveal(),
        "passphrase": cred.passphrase.reveal(),
        "api_version": cred.api_version,
        "saved_at": cred.saved_at.isoformat() if cred.saved_at else None,
    }


def _is_text(value: str) -> bool:
    """False for a string holding lone surrogates (JSON allows them; UTF-8 cannot carry them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A dict lookup per entry, not Slot(name) (EnumMeta.__call__): a vault holds 10,000s of them.
_SLOTS = {slot.value: slot for slot in Slot}


_TEXTS = ("api_key", "api_secret", "passphrase")


def _problem(slot_name: str, raw: Any, check_text: bool = True) -> str | None:
    """Why the slot's entry cannot be used (the reason quotes no value), or None.
    ``check_text=False``: the caller knows no value holds a lone surrogate."""
    if slot_name not in _SLOTS:
        return f"unknown slot name (this kutui knows {', '.join(Slot)})"
    if not isinstance(raw, dict):
        return "the credential is not a table"
    for name in _TEXTS:
        value = raw.get(name)
        if not isinstance(value, str):
            return f"{name} is {'missing' if value is None else 'not text'}"
        if check_text and not _is_text(value):
            return f"{name} is not valid text (it was stored from non-UTF-8 input)"
    version = raw.get("api_version", 3)
    saved_at = raw.get("saved_at")
    if not isinstance(version, int) or isinstance(version, bool):
        return "api_version is not a whole number"
    if saved_at is not None:
        if not isinstance(saved_at, str):
            return "saved_at is not a date and time"
        try:
            _ = datetime.fromisoformat(saved_at) if saved_at else None
        except ValueError:
            return "saved_at is not a date and time"
    return None


def _plainly_usable(slot_name: str, raw: Any) -> bool:
    """True for an entry ``_problem(slot_name, raw, check_text=False)`` finds usable, in the exact
    types JSON gives (anything else: False, and ``_problem`` looks): one call per entry, no
    loop, for the 10,000s of them a vault opens with."""
    if not (
        type(raw) is dict
        and slot_name in _SLOTS
        and type(raw.get("api_key")) is str
        and type(raw.get("api_secret")) is str
        and type(raw.get("passphrase")) is str
        and type(raw.get("api_version", 3)) is int
    ):
        return False
    saved_at = raw.get("saved_at")
    if saved_at is None or saved_at == "":
        return True
    if type(saved_at) is not str:
        return False
    try:
        datetime.fromisoformat(saved_at)
    except ValueError:
        return False
    return True


def _credential(raw: dict[str, Any]) -> Credential:
    """The credential of an entry ``_problem`` found usable."""
    secrets = [Secret(raw[name]) for name in _TEXTS]
    for secret in secrets:
        redact.register(secret)  # so logs mask the exact value from now on
    saved_at = raw.get("saved_at")
    return Credential(
        api_key=secrets[0],
        api_secret=secrets[1],
        passphrase=secrets[2],
        api_version=raw.get("api_version", 3),
        saved_at=datetime.fromisoformat(saved_at) if saved_at else None,
    )


def _encoded_json(raw: dict[str, Any]) -> dict[str, Any]:
    """``_credential_json(_credential(raw))``, without making (and registering) the secrets."""
    saved_at = raw.get("saved_at")
    return {
        "api_key": raw["api_key"],
        "api_secret": raw["api_secret"],
        "passphrase": raw["passphrase"],
        "api_version": raw.get("api_version", 3),
        "saved_at": datetime.fromisoformat(saved_at).isoformat() if saved_at else None,
    }


def _credential_from(slot_name: str, raw: Any) -> Credential:
    """The credential, or ``_BadEntry`` saying why not (the reason quotes no value)."""
    why = _problem(slot_name, raw)
    if why is not None:
        raise _BadEntry(why)
    return _credential(raw)


@dataclass(frozen=True)
class VaultInfo:
    """What ``kutui doctor`` may show about a vault without unlocking it."""

    path: Path
    uuid: str
    generation: int
    version: str
    stanzas: tuple[str, ...]
    kdf: KdfParams | None
    size: int


def peek(path: Path) -> VaultInfo:
    """Read the header only (no secret needed, none revealed); format/params errors still raise."""
    raw = _read(path)
    header, _, _ = parse(raw, path)
    stanza = header.passphrase_stanza()
    return VaultInfo(
        path=path,
        uuid=str(uuidlib.UUID(bytes=header.uuid)),
        generation=header.generation,
        version=f"{header.major}.{header.minor}",
        stanzas=tuple(STANZA_NAMES[s.type_id] for s in header.stanzas),
        kdf=stanza.params if stanza else None,
        size=len(raw),
    )


def _read(path: Path) -> bytes:
    try:
        return read_private(path)
    except FileNotFoundError:
        raise VaultNotFound(path, "no vault here yet", hint="run `kutui init`") from None
    except IsADirectoryError:
        raise VaultError(path, "is a directory, not a vault file") from None
    except OSError as exc:
        raise VaultError(path, f"cannot be read ({exc.strerror or exc})") from None


def _check_new_passphrase(passphrase: Secret) -> None:
    if not passphrase:
        raise UnlockError("the vault passphrase must not be empty")


def _passphrase_stanza(
    header: Header, dek: bytes | bytearray, passphrase: Secret, params: KdfParams, allow_weak: bool
) -> PassphraseStanza:
    _check_new_passphrase(passphrase)
    kdfmod.check_create(params, allow_weak=allow_weak)
    salt = os.urandom(kdfmod.SALT_BYTES)
    try:
        kek = kdfmod.derive(passphrase, salt, params)
    except UnsupportedAlgorithm:
        # OpenSSL without Argon2 (docs/security.md, "Vault format v1"): scrypt, recorded in the
        # header.
        params = kdfmod.SCRYPT_DEFAULT
        kek = kdfmod.derive(passphrase, salt, params)
    nonce, wrapped = wrap(kek, dek, wrap_aad(header, STANZA_PASSPHRASE))
    return PassphraseStanza(params=params, salt=salt, nonce=nonce, wrapped=wrapped)


def _keyring_stanza(header: Header, dek: bytes | bytearray, kek: bytes) -> KeyringStanza:
    if len(kek) != 32:
        raise UnlockError("the keyring key must be 32 bytes")
    nonce, wrapped = wrap(kek, dek, wrap_aad(header, STANZA_KEYRING))
    return KeyringStanza(nonce=nonce, wrapped=wrapped)


class Vault:
    """An unlocked vault: the held DEK and the decrypted data. ``close()`` locks it again.

    Extra attributes beyond the contract: ``uuid``, ``backups``, ``warnings`` (file-safety and
    keyring notes for the UI), ``unlocked_by`` ("keyring" or "passphrase"), ``kdf``."""

    path: Path
    generation: int
    has_keyring_stanza: bool
    has_passphrase_stanza: bool
    rollback_warning: str | None  # set when the generation went down since last seen

    def __init__(self, path: Path, header: Header, dek: bytearray, data: VaultData, backups: int):
        self.path = path
        self.backups = backups
        self.uuid = str(uuidlib.UUID(bytes=header.uuid))
        self.rollback_warning = None
        self.warnings: list[str] = []  # e.g. file permissions too open
        self.unlocked_by = ""  # "keyring" or "passphrase"
        self._dek: bytearray | None = dek
        self._adopt(header, data)

    def _adopt(self, header: Header, data: VaultData) -> None:
        self._header = header
        self._data: VaultData | None = data
        self.generation = header.generation
        self.has_keyring_stanza = header.keyring_stanza() is not None
        self.has_passphrase_stanza = header.passphrase_stanza() is not None

    @property
    def keyring_username(self) -> str:
        return keyring_username(self.uuid)

    @property
    def kdf(self) -> KdfParams | None:
        stanza = self._header.passphrase_stanza()
        return stanza.params if stanza else None

    @property
    def data(self) -> VaultData:
        if self._data is None:
            raise UnlockError(f"{self.path}: the vault is locked; unlock it again")
        return self._data

    def _held_dek(self) -> bytearray:
        if self._dek is None:
            raise UnlockError(f"{self.path}: the vault is locked; unlock it again")
        return self._dek

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        passphrase: Secret | None,
        kdf: KdfParams | None = None,
        keyring_kek: bytes | None = None,
        allow_weak: bool = False,
        backups: int = 3,
    ) -> Vault:
        if passphrase is None and keyring_kek is None:
            raise UnlockError("a new vault needs a passphrase or a keyring key")
        dek = bytearray(new_key())
        header = Header(
            uuid=uuidlib.uuid4().bytes,
            generation=1,
            stanzas=(),
            payload_salt=bytes(PAYLOAD_SALT_BYTES),
            nonce=bytes(NONCE_BYTES),
        )
        if passphrase is not None:
            params = kdf or kdfmod.default_params()
            header = header.with_stanza(
                _passphrase_stanza(header, dek, passphrase, params, allow_weak)
            )
        if keyring_kek is not None:
            header = header.with_stanza(_keyring_stanza(header, dek, keyring_kek))
        data = VaultData()
        header, blob = seal(header, dek, pad_payload(data.to_json()))
        with locked(path):
            if path.exists() or path.is_symlink():
                raise VaultError(path, "already exists; kutui never overwrites a vault")
            try:
                atomic_write(path, blob)
            except OSError as exc:
                raise VaultError(path, f"could not be written ({exc.strerror or exc})") from None
        vault = cls(path, header, dek, data, backups)
        vault.unlocked_by = "passphrase" if passphrase is not None else "keyring"
        return vault

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        passphrase: Secret | None = None,
        keyring_kek: bytes | None = None,
        backups: int = 3,
        seen_generation: int | None = None,
    ) -> Vault:
        """Unlock with the keyring key (tried first) or the passphrase; nothing is written."""
        if passphrase is None and keyring_kek is None:
            raise UnlockError(f"{path}: no passphrase or keyring key to unlock the vault")
        raw = _read(path)
        header, header_bytes, ciphertext = parse(raw, path)
        warnings: list[str] = []
        dek, how = _unwrap_dek(header, path, passphrase, keyring_kek, warnings)
        plain = open_sealed(header, header_bytes, ciphertext, dek)
        if plain is None:
            raise VaultAuthError(path, AUTH_FAILED)
        data = VaultData.from_json(unpad_payload(plain, path), path)
        vault = cls(path, header, dek, data, backups)
        vault.unlocked_by = how
        vault.warnings = warnings + check_private(path)
        if seen_generation is not None:
            vault._check_rollback(header.generation, seen_generation)
        return vault

    def _check_rollback(self, found: int, seen: int) -> None:
        if found < seen:
            self.rollback_warning = (
                f"{self.path}: vault generation {found} is older than the last one seen ({seen}); "
                "an old copy may have been restored"
            )

    def _read_current(self) -> tuple[Header, VaultData]:
        """Re-read the file and decrypt it with the DEK already held."""
        dek = self._held_dek()
        header, header_bytes, ciphertext = parse(_read(self.path), self.path)
        if header.uuid != self._header.uuid:
            raise VaultError(
                self.path,
                f"now holds a different vault ({uuidlib.UUID(bytes=header.uuid)}); open it again",
            )
        plain = open_sealed(header, header_bytes, ciphertext, dek)
        if plain is None:
            raise VaultAuthError(self.path, AUTH_FAILED)
        self._check_rollback(header.generation, self.generation)
        return header, VaultData.from_json(unpad_payload(plain, self.path), self.path)

    def _save(
        self,
        fn: Callable[[VaultData], T],
        restanza: Callable[[Header], Header],
        *,
        new_dek: bytearray | None = None,
    ) -> T:
        """Re-read, apply ``fn`` and ``restanza``, seal (under ``new_dek`` when given), replace."""
        with locked(self.path):
            header, data = self._read_current()
            result = fn(data)
            header = restanza(header)
            header = replace(header, generation=header.generation + 1)
            dek = new_dek if new_dek is not None else self._held_dek()
            header, blob = seal(header, dek, pad_payload(data.to_json()))
            try:
                atomic_write(self.path, blob, backup_to=self._rotate_backups)
            except OSError as exc:  # ENOSPC, EIO on fsync, read-only filesystem...
                raise VaultError(
                    self.path, f"could not be saved ({exc.strerror or exc}); the file is unchanged"
                ) from None
        if new_dek is not None:
            self._forget_dek()
            self._dek = new_dek
        self._adopt(header, data)
        return result

    def backup_path(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.bak.{n}")

    def backup_files(self) -> list[Path]:
        """The backups on disk (``vault.kv1.bak.N``), oldest generation last."""
        found = [
            p
            for p in self.path.parent.glob(f"{self.path.name}.bak.*")
            if p.name.rsplit(".", 1)[-1].isdigit()
        ]
        return sorted(found, key=lambda p: int(p.name.rsplit(".", 1)[-1]))

    def remove_backups(self) -> list[Path]:
        """Delete every backup (after a passphrase change they open with the old passphrase)."""
        removed: list[Path] = []
        with locked(self.path):
            for backup in self.backup_files():
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()
                    removed.append(backup)
        return removed

    def _rotate_backups(self) -> Path | None:
        """Shift .bak.1..N-1 up by one; the caller hard-links the current file to .bak.1."""
        for extra in self.backup_files():
            if int(extra.name.rsplit(".", 1)[-1]) > self.backups:
                with contextlib.suppress(OSError):
                    extra.unlink()
        if self.backups <= 0:
            return None
        for n in range(self.backups - 1, 0, -1):
            if self.backup_path(n).exists():
                os.replace(self.backup_path(n), self.backup_path(n + 1))
        return self.backup_path(1)

    def update(self, fn: Callable[[VaultData], T]) -> T:
        """Lock, re-read the file (with the data key already held), apply ``fn``, save atomically.

        If ``fn`` raises, nothing is written and the in-memory data is unchanged."""
        return self._save(fn, lambda header: header)

    def reload(self) -> None:
        header, data = self._read_current()
        self._adopt(header, data)

    def set_passphrase(
        self,
        passphrase: Secret,
        kdf: KdfParams | None = None,
        *,
        keyring_kek: bytes | None = None,
        allow_weak: bool = False,
    ) -> None:
        """Re-encrypt the vault under a fresh data key wrapped by ``passphrase``.

        A fresh key, not a re-wrap: an old copy of the file plus the old passphrase yields the
        old data key, which must not open the vault any more. The keyring stanza is re-wrapped
        with ``keyring_kek`` (the key the OS keyring holds); without it the stanza is dropped,
        as it could no longer open the vault. Backups keep the old key and passphrase."""
        new_dek = bytearray(new_key())
        stanza = _passphrase_stanza(
            self._header, new_dek, passphrase, kdf or kdfmod.default_params(), allow_weak
        )
        keyring = (
            _keyring_stanza(self._header, new_dek, keyring_kek)
            if keyring_kek is not None and self.has_keyring_stanza
            else None
        )

        def restanza(header: Header) -> Header:
            header = header.without(STANZA_KEYRING).with_stanza(stanza)
            return header.with_stanza(keyring) if keyring is not None else header

        self._save(lambda data: None, restanza, new_dek=new_dek)

    def enable_keyring(self, kek: bytes) -> None:
        """Add (or replace) the keyring stanza; the caller stores ``kek`` in the keyring."""
        stanza = _keyring_stanza(self._header, self._held_dek(), kek)
        self._save(lambda data: None, lambda header: header.with_stanza(stanza))

    def disable_keyring(self) -> None:
        """Remove the keyring stanza; refused when the passphrase stanza is the only way left."""

        def restanza(header: Header) -> Header:
            if header.passphrase_stanza() is None:
                raise VaultError(
                    self.path,
                    "has no passphrase stanza; set a passphrase before removing the keyring",
                )
            return header.without(STANZA_KEYRING)

        self._save(lambda data: None, restanza)

    def close(self) -> None:
        """Drop the data key and the decrypted payload (the TUI's lock action)."""
        self._forget_dek()
        self._data = None

    def _forget_dek(self) -> None:
        if self._dek is not None:
            self._dek[:] = bytes(len(self._dek))  # best effort: Python may hold other copies
        self._dek = None

    def __repr__(self) -> str:
        state = "locked" if self._dek is None else "open"
        return f"Vault({str(self.path)!r}, generation={self.generation}, {state})"


def _unwrap_dek(
    header: Header,
    path: Path,
    passphrase: Secret | None,
    keyring_kek: bytes | None,
    warnings: list[str],
) -> tuple[bytearray, str]:
    keyring_stanza = header.keyring_stanza()
    if keyring_kek is not None and keyring_stanza is not None:
        dek = unwrap(
            keyring_kek,
            keyring_stanza.nonce,
            keyring_stanza.wrapped,
            wrap_aad(header, STANZA_KEYRING),
        )
        if dek is not None:
            return dek, "keyring"
        warnings.append(f"{path}: the key in the OS keyring does not open this vault")
    stanza = header.passphrase_stanza()
    if passphrase is None:
        raise VaultAuthError(path, "the keyring key does not open it, or the vault is damaged")
    if stanza is None:
        raise VaultAuthError(path, "has no passphrase stanza; it opens only with the OS keyring")
    kek = kdfmod.derive(passphrase, stanza.salt, stanza.params)
    dek = unwrap(kek, stanza.nonce, stanza.wrapped, wrap_aad(header, STANZA_PASSPHRASE))
    if dek is None:
        raise VaultAuthError(path, AUTH_FAILED)
    return dek, "passphrase"
