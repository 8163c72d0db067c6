"""``kutui init``: create the kutui home (directories, config.toml, kutui.db, the vault).

The vault gets a keyring stanza when a real OS keyring passes the probe and ``vault.unlock`` is not
``passphrase``, and a passphrase stanza from ``--passphrase-file``, ``$CREDENTIALS_DIRECTORY`` or a
terminal prompt (asked twice). ``init`` never replaces an existing vault or config.toml.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_openbao_options, openbao_section

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
    add_openbao_options(parser)
    parser.set_defaults(func=run_init)


def store_section(args: argparse.Namespace) -> dict[str, str]:
    """config.toml's ``[store]`` values from ``--store openbao`` and its options (empty file
    options are left out: config.toml keeps its defaults)."""
    return {k: v for k, v in openbao_section(args, "--store openbao").items() if v}


def example_config() -> bytes:
    """config.example.toml as shipped in the package (``kutui.ops.setup``)."""
    from kutui.ops.setup import example_config as shipped

    return shipped()


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


def run_init(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice, warn
    from kutui.errors import UnlockError
    from kutui.ops import setup
    from kutui.store import keyring_unlock

    home = load_home(args)  # a bad existing config.toml stops here, before anything is written
    if getattr(args, "store", "local") == "openbao" or home.is_shared:
        return _init_shared(args, home)
    setup.refuse_existing_vault(home)
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
    for line in setup.write_files(home):
        notice(line)
    made = setup.create_vault(home, passphrase, keyring_ok=keyring_ok)
    for line in made.warnings:
        warn(line)
    with_keyring = made.with_keyring
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
    from kutui.ops import setup

    values = store_section(args) if getattr(args, "store", "local") == "openbao" else None
    change = setup.init_shared(home, values)
    for line in (*change.notices, change.summary):
        notice(line)
    notice("next: 'kutui key add ACCOUNT/LABEL' or 'kutui migrate --to openbao' on a local home")
    return 0
