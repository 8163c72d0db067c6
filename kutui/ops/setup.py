"""``kutui init``'s writes: the home's directories, config.toml from the example, kutui.db, and a
new vault (with a keyring stanza when the OS keyring works). Never replaces a vault or a
config.toml."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kutui.errors import UnlockError, VaultError
from kutui.store.vault import Vault

if TYPE_CHECKING:
    from kutui.secret import Secret
    from kutui.store.home import Home


def example_config() -> bytes:
    """config.example.toml as shipped in the package (kutui/data/)."""
    from importlib.resources import files

    return files("kutui").joinpath("data", "config.example.toml").read_bytes()


def refuse_existing_vault(home: Home) -> None:
    if home.vault_exists():
        raise VaultError(
            home.paths.vault,
            "already exists; kutui init never replaces a vault",
            hint="use 'kutui vault passwd' to change its passphrase",
        )


def write_files(home: Home) -> list[str]:
    """Directories (0700), config.toml if missing, kutui.db if missing; one line per file made."""
    from kutui.store.files import atomic_write, ensure_private_dir, locked

    done: list[str] = []
    for directory in (*home.paths.all_dirs(), home.paths.themes_dir):
        ensure_private_dir(directory)
    with locked(home.paths.config):
        if not home.paths.config.exists() and not home.paths.config.is_symlink():
            atomic_write(home.paths.config, example_config())
            done.append(f"wrote {home.paths.config} (every setting commented; edit to taste)")
    if not home.paths.db.exists():
        with home.store():  # an old home's accounts.toml is migrated here
            pass
        if home.paths.db.exists():
            done.append(f"created {home.paths.db}")
    return done


@dataclass
class NewVault:
    vault: Vault
    with_keyring: bool
    warnings: list[str] = field(default_factory=list)


def create_vault(home: Home, passphrase: Secret | None, *, keyring_ok: bool) -> NewVault:
    """A new, empty vault unlocked by ``passphrase`` and (``keyring_ok``) the OS keyring."""
    from kutui.store import keyring_unlock
    from kutui.store.kdf import params_from_config

    refuse_existing_vault(home)
    settings = home.config.vault
    kdf = params_from_config(
        settings.kdf,
        settings.argon2_memory_mib,
        settings.argon2_iterations,
        settings.argon2_lanes,
        settings.scrypt_log_n,
    )
    timeout = settings.keyring_timeout_seconds
    # Keyring only: the stanza must exist before its key can be filed under the vault's UUID.
    kek = os.urandom(32) if keyring_ok and passphrase is None else None
    vault = Vault.create(
        home.paths.vault,
        passphrase=passphrase,
        kdf=kdf,
        keyring_kek=kek,
        backups=settings.backups,
    )
    made = NewVault(vault, with_keyring=False)
    if kek is not None:
        why = keyring_unlock.store_kek(vault.uuid, kek, timeout=timeout)
        if why is not None:
            vault.close()
            home.paths.vault.unlink()  # empty and unopenable: nothing is lost
            raise UnlockError(f"the OS keyring refused the vault key ({why}); no vault created")
        made.with_keyring = True
    elif keyring_ok:
        # With a passphrase: store the key first, then add the stanza (nothing half-done).
        why = keyring_unlock.enroll_keyring(vault, timeout=timeout)
        if why is not None:
            made.warnings.append(
                f"the OS keyring refused the vault key ({why}); the passphrase unlocks the vault"
            )
        made.with_keyring = why is None
    home.note_vault_generation(vault)
    return made
