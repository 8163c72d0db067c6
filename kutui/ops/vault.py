"""``kutui vault passwd``'s writes: re-encrypt the vault under a fresh data key and a new
passphrase (the keyring stanza re-wrapped when its key is at hand); delete old backups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kutui.ops.change import Change

if TYPE_CHECKING:
    from kutui.secret import Secret
    from kutui.store.home import Home
    from kutui.store.vault import Vault


def change_passphrase(home: Home, vault: Vault, new: Secret, keyring_kek: bytes | None) -> Change:
    from kutui.store.kdf import params_for

    settings = home.config.vault
    kdf = params_for(settings)
    vault.set_passphrase(new, kdf, keyring_kek=keyring_kek)
    home.note_vault_generation(vault)
    ways = (
        "the new passphrase and the OS keyring"
        if vault.has_keyring_stanza
        else "the new passphrase"
    )
    return Change(f"{vault.path} is re-encrypted under a fresh data key; it opens with {ways}")


def remove_backups(vault: Vault) -> Change:
    removed = vault.remove_backups()
    return Change(f"deleted {len(removed)} backup(s) that opened with the old passphrase")
