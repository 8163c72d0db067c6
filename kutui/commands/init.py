"""``kutui init``: create the kutui home (directories, config.toml, kutui.db, the vault).

The vault gets a keyring stanza when a real OS keyring passes the probe and ``vault.unlock`` is not
``passphrase``, and a passphrase stanza from ``--passphrase-file``, ``$CREDENTIALS_DIRECTORY`` or a
terminal prompt (asked twice). ``init`` never replaces an existing vault or config.toml.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kutui.secret import Secret
    from kutui.store.home import Home


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create the kutui home and an empty encrypted vault",
        description="Create kutui's directories (mode 0700), config.toml from the commented "
        "example (kept if present), an empty registry (kutui.db) and a new vault. The vault is "
        "unlocked by the OS keyring when one works and by a passphrase (from --passphrase-file, "
        "$CREDENTIALS_DIRECTORY/kutui-passphrase or asked twice on the terminal).",
    )
    parser.add_argument(
        "--store",
        choices=("local", "openbao"),
        default="local",
        help="where keys live: this host's encrypted vault (default), or an OpenBao / Vault "
        "server shared by a team (README, Teams)",
    )
    parser.add_argument("--openbao-addr", metavar="URL", help="the server, https://host:8200")
    parser.add_argument("--openbao-mount", metavar="MOUNT", default="secret", help="KV v2 mount")
    parser.add_argument("--openbao-prefix", metavar="PREFIX", default="kutui", help="path prefix")
    parser.add_argument(
        "--openbao-token-file",
        metavar="FILE",
        help="read the token from FILE (default: $BAO_TOKEN, $VAULT_TOKEN, ~/.vault-token)",
    )
    parser.add_argument("--openbao-ca-file", metavar="FILE", help="CA bundle for the server")
    parser.set_defaults(func=run_init)


def store_section(args: argparse.Namespace) -> dict[str, str]:
    """config.toml's ``[store]`` values from ``--store openbao`` and its options."""
    from kutui.errors import UsageError

    if not args.openbao_addr:
        raise UsageError("--store openbao needs --openbao-addr URL")
    values = {
        "kind": "openbao",
        "addr": args.openbao_addr,
        "mount": args.openbao_mount,
        "prefix": args.openbao_prefix,
    }
    if args.openbao_token_file:
        values["token_file"] = args.openbao_token_file
    if args.openbao_ca_file:
        values["ca_file"] = args.openbao_ca_file
    return values


def config_with_store(example: bytes, values: dict[str, str]) -> bytes:
    """The example with ``values`` set under its ``[store]`` header (one table, as TOML wants)."""
    import tomli_w

    header = b"\n[store]\n"
    lines = tomli_w.dumps(values).encode()
    if header not in example:
        return example + header + lines
    return example.replace(header, header + lines, 1)


def example_config() -> bytes:
    """config.example.toml as shipped in the package (kutui/data/)."""
    from importlib.resources import files

    return files("kutui").joinpath("data", "config.example.toml").read_bytes()


def _new_passphrase(args: argparse.Namespace, *, keyring_ok: bool) -> Secret | None:
    """From the file sources, else asked twice on a terminal. With a working keyring the
    passphrase is a recovery route the user may skip (empty answer)."""
    from kutui.commands.common import ask_new_passphrase, is_tty, passphrase_file, secret_prompt
    from kutui.store.home import read_passphrase_sources

    secret = read_passphrase_sources(passphrase_file(args))
    if secret is not None or not is_tty():
        return secret
    if keyring_ok:
        first = secret_prompt("Recovery passphrase for the vault (empty: keyring only)")
        if not first:
            return None
        again = secret_prompt("Recovery passphrase (again)")
        if first != again:
            from kutui.errors import UsageError

            raise UsageError("the two passphrases differ; nothing was created")
        return first
    return ask_new_passphrase("New vault passphrase")


def _write_files(home: Home, store: dict[str, str] | None = None) -> list[str]:
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


def run_init(args: argparse.Namespace) -> int:
    import os

    from kutui.commands.common import load_home, notice, warn
    from kutui.errors import UnlockError, VaultError
    from kutui.store import keyring_unlock
    from kutui.store.kdf import params_from_config
    from kutui.store.vault import Vault

    home = load_home(args)  # a bad existing config.toml stops here, before anything is written
    if getattr(args, "store", "local") == "openbao" or home.is_shared:
        return _init_shared(args, home)
    if home.vault_exists():
        raise VaultError(
            home.paths.vault,
            "already exists; kutui init never replaces a vault",
            hint="use 'kutui vault passwd' to change its passphrase",
        )
    settings = home.config.vault
    keyring_ok = False
    if settings.unlock != "passphrase":
        answer = keyring_unlock.probe(timeout=settings.keyring_timeout_seconds)
        keyring_ok = answer.ok
        if answer.warning:
            warn(answer.warning)
        if not keyring_ok and settings.unlock == "keyring":
            raise UnlockError(
                f'vault.unlock is "keyring" in {home.paths.config}, but no OS keyring works: '
                f"{answer.why}"
            )
        if not keyring_ok:
            notice(f"no usable OS keyring ({answer.why}); the vault will use a passphrase")
    passphrase = _new_passphrase(args, keyring_ok=keyring_ok)
    if passphrase is None and not keyring_ok:
        raise UnlockError(
            "the vault needs a passphrase",
            hint="run on a terminal to be asked, or give --passphrase-file FILE",
        )
    for line in _write_files(home):
        notice(line)
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
    with_keyring = False
    if kek is not None:
        why = keyring_unlock.store_kek(vault.uuid, kek, timeout=timeout)
        if why is not None:
            vault.close()
            home.paths.vault.unlink()  # empty and unopenable: nothing is lost
            raise UnlockError(f"the OS keyring refused the vault key ({why}); no vault created")
        with_keyring = True
    elif keyring_ok:
        # With a passphrase: store the key first, then add the stanza (nothing half-done).
        why = keyring_unlock.enroll_keyring(vault, timeout=timeout)
        if why is not None:
            warn(f"the OS keyring refused the vault key ({why}); the passphrase unlocks the vault")
        with_keyring = why is None
    home.note_vault_generation(vault)
    ways = " and ".join(
        w for w, on in (("the OS keyring", with_keyring), ("your passphrase", passphrase)) if on
    )
    notice(f"created {home.paths.vault}, unlocked by {ways}")
    if with_keyring and passphrase is None:
        warn(
            "the vault opens only through the OS keyring; if the keyring is reset the vault is "
            "lost. Add a recovery passphrase with 'kutui vault passwd'"
        )
    notice("next: 'kutui key add ACCOUNT/LABEL' or 'kutui key import FILE'")
    return 0


def _init_shared(args: argparse.Namespace, home: Home) -> int:
    """``--store openbao``: config.toml names the server; kutui.db keeps this host's check
    history; the shared registry is created on the server if it is not there yet."""
    from kutui.commands.common import notice
    from kutui.errors import ConfigError
    from kutui.store.config import load_config
    from kutui.store.home import Home

    if getattr(args, "store", "local") == "openbao":
        values = store_section(args)
        if home.paths.config.exists() and not home.is_shared:
            raise ConfigError(
                home.paths.config,
                'exists and does not say [store] kind = "openbao"; nothing was changed',
                hint=f"to move this home's keys there: kutui migrate --to openbao "
                f"--openbao-addr {values['addr']}",
            )
        for line in _write_files(home, values):
            notice(line)
        home = Home(home.paths, load_config(home.paths.config))
    else:
        for line in _write_files(home):
            notice(line)
    shared = home.shared()
    created = shared.init()
    where = shared.settings.where
    notice(f"{'created the shared registry on' if created else 'joined'} {where}")
    notice("next: 'kutui key add ACCOUNT/LABEL' or 'kutui migrate --to openbao' on a local home")
    return 0
