"""Editing a key's credentials in the TUI (`u`): an imported key keeps its KuCoin identity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from kutui.clock import current
from kutui.errors import UsageError
from kutui.model import Account, ApiKey, KeyRef, Registry, SubAccount
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault
from kutui.tui.flows import _save_key_edit
from kutui.tui.screens.forms import EnteredCredentials, KeyFormResult

REF = KeyRef("main", "sub1", "imported")
SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"


class _App:
    """What ``_save_key_edit`` uses of the app: the vault, the home, the clock and ``persist``."""

    def __init__(self, home: Home, vault: Vault) -> None:
        self.home, self.vault = home, vault

    def now(self) -> datetime:
        return current().now()

    def persist(self, message: str, save: Callable[[], object]) -> None:
        save()  # the app runs it in a thread worker; here, at once


def _setup(tmp_path: Path) -> tuple[_App, ApiKey]:
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
    return _App(home, vault), key


def _result(api_key: str) -> KeyFormResult:
    entered = EnteredCredentials(Secret(api_key), Secret(SECRET), Secret("Ab12345678"))
    return KeyFormResult(REF, 3, entered)


def test_the_imported_keys_own_credentials_are_stored(tmp_path: Path) -> None:
    app, key = _setup(tmp_path)
    _save_key_edit(cast(Any, app), key, _result("6705f5c311545b000157d3eb"))
    stored = app.home.registry().key_by_id(key.id)
    assert stored is not None and stored.has_secret and stored.fingerprint == "d3eb"
    assert app.vault.data.get(key.id) is not None


def test_another_keys_credentials_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    app, key = _setup(tmp_path)
    with pytest.raises(UsageError, match="…d3eb, but this API key ends …ffff"):
        _save_key_edit(cast(Any, app), key, _result("6705f5c311545b000157ffff"))
    stored = app.home.registry().key_by_id(key.id)
    assert stored is not None and not stored.has_secret and stored.fingerprint == "d3eb"
    assert app.vault.data.get(key.id) is None
