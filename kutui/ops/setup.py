"""``kutui init``'s writes: the home's directories, config.toml from the example, kutui.db, and a
new vault (with a keyring stanza when the OS keyring works). Never replaces a vault or a
config.toml."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kutui.errors import UnlockError, VaultError
from kutui.ops.change import Change
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


def config_with_store(example: bytes, values: dict[str, str]) -> bytes:
    """The example with ``values`` set under its ``[store]`` header (one table, as TOML wants)."""
    import tomli_w

    header = b"\n[store]\n"
    lines = tomli_w.dumps(values).encode()
    if header not in example:
        return example + header + lines
    return example.replace(header, header + lines, 1)


def write_files(home: Home, store: dict[str, str] | None = None) -> list[str]:
    """Directories (0700), config.toml if missing (with ``store`` as its ``[store]`` table),
    kutui.db if missing; one line per file made."""
    from kutui.store.files import atomic_write, ensure_private_dir, locked

    done: list[str] = []
    for directory in (*home.paths.all_dirs(), home.paths.themes_dir):
        ensure_private_dir(directory)
    with locked(home.paths.config):
        if not home.paths.config.exists() and not home.paths.config.is_symlink():
            text = example_config()
            atomic_write(home.paths.config, config_with_store(text, store) if store else text)
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
    from kutui.store.kdf import params_for

    refuse_existing_vault(home)
    settings = home.config.vault
    kdf = params_for(settings)
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


def init_shared(home: Home, store: dict[str, str] | None) -> Change:
    """``kutui init --store openbao`` (``store``: the ``[store]`` values), or ``init`` on a home
    whose config.toml already names the server (``store`` None): the local files, then the
    shared registry on the server if it is not there yet."""
    from kutui.errors import ConfigError
    from kutui.store.config import load_config
    from kutui.store.home import Home

    if store is not None:
        if home.paths.config.exists() and not home.is_shared:
            raise ConfigError(
                home.paths.config,
                'exists and does not say [store] kind = "openbao"; nothing was changed',
                hint=f"to move this home's keys there: kutui migrate --to openbao "
                f"--openbao-addr {store['addr']}",
            )
        made = write_files(home, store)
        home = Home(home.paths, load_config(home.paths.config))
    else:
        made = write_files(home)
    shared = home.shared()
    created = shared.init()
    where = shared.settings.where
    return Change(
        f"{'created the shared registry on' if created else 'joined'} {where}", notices=tuple(made)
    )
