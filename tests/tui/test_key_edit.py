"""Editing a key's credentials in the TUI (`u`, ``kutui.ops.keys.edit_key``): an imported key
keeps its KuCoin identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.errors import UsageError
from kutui.model import Account, ApiKey, KeyRef, Registry, SubAccount
from kutui.ops.keys import Entered, edit_key
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault

REF = KeyRef("main", "sub1", "imported")
SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"


def _setup(tmp_path: Path) -> tuple[Home, Vault, ApiKey]:
    home = Home.load(tmp_path)
    vault = Vault.create(
        home.paths.vault,
        passphrase=Secret("test passphrase"),
        kdf=KdfParams(memory_kib=64, iterations=1, lanes=1),
        allow_weak=True,
    )
    key = ApiKey("imported-1", REF, fingerprint="d3eb", has_secret=False)

    def add(reg: Registry) -> None:
        reg.accounts.append(Account("main", subaccounts=[SubAccount("sub1")]))
        reg.keys.append(key)

    home.update_registry(add)
    return home, vault, key


def _edit(home: Home, vault: Vault, key: ApiKey, api_key: str) -> None:
    entered = Entered(Secret(api_key), Secret(SECRET), Secret("Ab12345678"))
    edit_key(home, vault, key.id, ref=REF, api_version=3, entered=entered)


def test_the_imported_keys_own_credentials_are_stored(tmp_path: Path) -> None:
    home, vault, key = _setup(tmp_path)
    _edit(home, vault, key, "6705f5c311545b000157d3eb")
    stored = home.registry().key_by_id(key.id)
    assert stored is not None and stored.has_secret and stored.fingerprint == "d3eb"
    assert vault.data.get(key.id) is not None


def test_another_keys_credentials_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    home, vault, key = _setup(tmp_path)
    with pytest.raises(UsageError, match="…d3eb, but this API key ends …ffff"):
        _edit(home, vault, key, "6705f5c311545b000157ffff")
    stored = home.registry().key_by_id(key.id)
    assert stored is not None and not stored.has_secret and stored.fingerprint == "d3eb"
    assert vault.data.get(key.id) is None
