"""``kutui doctor``: what works and what does not, without using the network.

Checks: config.toml parses; kutui.db opens, passes SQLite's quick check and uses WAL; the OS
keyring backend and whether the probe works;
the vault's header (peeked, no passphrase); each vault entry's state when the vault can be
unlocked (keyring, --passphrase-file, $CREDENTIALS_DIRECTORY, a prompt on a terminal; skipped,
never failed, when it cannot); file and directory modes, owners and symlinks; the system clock.
Exit 0 when healthy, 1 when something needs attention.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from kutui.commands.common import add_json_flag

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass
class Finding:
    level: str
    topic: str
    text: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the setup (keyring, vault, file modes, clock)",
        description="Check kutui's setup without touching the network. The vault is unlocked "
        "when that needs no new secret (keyring, --passphrase-file, $CREDENTIALS_DIRECTORY) or "
        "a terminal can ask, to check each entry; otherwise that check is skipped. "
        "Exit 0 when healthy, 1 when something needs attention.",
    )
    add_json_flag(parser)
    parser.set_defaults(func=run_doctor)


def _config(home_arg: str | None, out: list[Finding]) -> Any:
    from kutui.errors import KutuiError
    from kutui.paths import Paths
    from kutui.store.config import Config, load_config

    paths = Paths.resolve(home_arg)
    try:
        config = load_config(paths.config)
    except KutuiError as exc:
        out.append(Finding(FAIL, "config", str(exc)))
        return paths, Config()
    state = "found" if paths.config.exists() else "absent; defaults apply"
    out.append(Finding(OK, "config", f"{paths.config} ({state})"))
    return paths, config


def _registry(paths: Any, out: list[Finding]) -> None:
    """kutui.db opens, passes SQLite's quick check and is in WAL mode (docs/storage.md)."""
    from kutui.errors import KutuiError
    from kutui.store.sqlite_registry import RegistryStore

    if not (paths.db.exists() or paths.db.is_symlink()):
        if paths.accounts.exists() or paths.history.exists():
            _old_registry(paths, out)
        else:
            text = f"{paths.db} does not exist yet: no keys (it is created when first needed)"
            out.append(Finding(INFO, "registry", text))
        return
    try:
        with RegistryStore.open_file(paths.db) as store:
            problems = store.db.quick_check()
            mode = store.db.journal_mode
            registry = store.snapshot() if not problems else None
    except KutuiError as exc:
        out.append(Finding(FAIL, "registry", str(exc)))
        return
    if registry is None:
        out.append(Finding(FAIL, "registry", f"{paths.db}: damaged ({'; '.join(problems[:3])})"))
        return
    without = sum(not k.has_secret for k in registry.keys)
    text = f"{paths.db}: {len(registry.accounts)} account(s), {len(registry.keys)} key(s)"
    if without:
        text += f", {without} without stored credentials"
    out.append(Finding(OK, "registry", f"{text}; integrity ok, journal mode {mode}"))


def _old_registry(paths: Any, out: list[Finding]) -> None:
    """An old home: accounts.toml + history.json, read by the strict readers the migration uses."""
    from kutui.errors import KutuiError
    from kutui.store.history import read_history
    from kutui.store.registry import read_registry

    try:
        keys = len(read_registry(paths.accounts).keys)
        read_history(paths.history)
    except KutuiError as exc:
        out.append(Finding(FAIL, "registry", str(exc)))
        return
    text = f"{paths.db} does not exist yet; the next command moves {keys} key(s) into it"
    out.append(Finding(INFO, "registry", text))


def _keyring(config: Any, out: list[Finding]) -> None:
    from kutui.store import keyring_unlock

    if config.vault.unlock == "passphrase":
        out.append(Finding(INFO, "keyring", 'not used (vault.unlock = "passphrase")'))
        return
    answer = keyring_unlock.probe(timeout=config.vault.keyring_timeout_seconds)
    if answer.ok:
        out.append(Finding(OK, "keyring", f"{answer.backend} works"))
    else:
        level = FAIL if config.vault.unlock == "keyring" else INFO
        out.append(Finding(level, "keyring", f"not usable: {answer.why}; the passphrase is used"))
    if answer.warning:
        out.append(Finding(WARN, "keyring", answer.warning))


def _vault(paths: Any, out: list[Finding]) -> None:
    from kutui.errors import KutuiError
    from kutui.store.state import read_state
    from kutui.store.vault import peek

    if not (paths.vault.exists() or paths.vault.is_symlink()):
        out.append(Finding(WARN, "vault", f"{paths.vault} does not exist (run 'kutui init')"))
        return
    try:
        info = peek(paths.vault)
    except KutuiError as exc:
        out.append(Finding(FAIL, "vault", str(exc)))
        return
    kdf = f", {info.kdf.describe()}" if info.kdf else ""
    out.append(
        Finding(
            OK,
            "vault",
            f"{info.path}: format {info.version}, generation {info.generation}, "
            f"unlocked by {' + '.join(info.stanzas)}{kdf}",
        )
    )
    try:
        seen = read_state(paths.state).vault_generation
    except KutuiError as exc:
        out.append(Finding(WARN, "state", str(exc)))
        return
    if info.generation < seen:
        out.append(
            Finding(
                WARN,
                "vault",
                f"generation {info.generation} is older than the last one seen ({seen}): "
                "an old copy may have been restored",
            )
        )


def _shared_store(paths: Any, config: Any, out: list[Finding]) -> None:
    """``[store] kind = "openbao"``: the server, the registry and every key's secret."""
    from kutui.errors import KutuiError
    from kutui.store.entries import OK as ENTRY_OK
    from kutui.store.entries import entry_states
    from kutui.store.home import Home

    home = Home(paths, config)
    try:
        shared = home.shared()
        registry = home.registry()
        vault = home.open_vault()
    except KutuiError as exc:
        out.append(Finding(FAIL, "store", str(exc)))
        return
    out.append(
        Finding(
            OK, "store", f"{shared.settings.where}: {len(registry.keys)} key(s) in the registry"
        )
    )
    states = entry_states(registry, vault.data)
    good = sum(e.state == ENTRY_OK for e in states)
    out.append(Finding(OK, "entries", f"{good} credential(s) readable with the token"))
    for entry in states:
        if entry.state != ENTRY_OK:
            out.append(Finding(WARN, "entries", entry.describe()))


def _entries(args: argparse.Namespace, paths: Any, config: Any, out: list[Finding]) -> None:
    """Each vault entry's state, when the vault opens; "skipped" (not a failure) otherwise."""
    from kutui.commands.common import interactive_prompt, passphrase_file
    from kutui.errors import KutuiError
    from kutui.store.entries import OK as ENTRY_OK
    from kutui.store.entries import entry_states
    from kutui.store.home import Home
    from kutui.store.vault import peek

    if not (paths.vault.exists() or paths.vault.is_symlink()):
        return
    try:
        peek(paths.vault)  # a damaged header is the vault finding's; no unlock is tried
        home = Home(paths, config)
        vault = home.open_vault(passphrase_file=passphrase_file(args), prompt=interactive_prompt())
        states = entry_states(home.registry(), vault.data)  # after the unlock's adoptions
    except KutuiError as exc:
        out.append(Finding(INFO, "entries", f"skipped: the vault was not unlocked ({exc})"))
        return
    vault.close()
    good = sum(e.state == ENTRY_OK for e in states)
    out.append(
        Finding(OK, "entries", f"{good} credential(s) readable, unlocked by {vault.unlocked_by}")
    )
    for entry in states:
        if entry.state != ENTRY_OK:
            out.append(Finding(WARN, "entries", entry.describe()))


def _modes(paths: Any, out: list[Finding]) -> None:
    from kutui.store.files import check_private

    candidates = [
        *paths.all_dirs(),
        paths.config,
        paths.themes_dir,
        paths.db,
        paths.db.with_name(paths.db.name + "-wal"),
        paths.db.with_name(paths.db.name + "-shm"),
        paths.accounts,
        paths.vault,
        paths.state,
        paths.history,
        paths.rotations_dir,
        paths.log,
    ]
    for directory in paths.all_dirs():
        if directory.is_dir() and not directory.is_symlink():
            candidates.extend(sorted(directory.glob("vault.kv1.bak.*")))
            candidates.extend(sorted(directory.glob("*.lock")))
    problems = [p for path in dict.fromkeys(candidates) for p in check_private(path)]
    for problem in problems:
        out.append(Finding(WARN, "files", problem))
    if not problems:
        out.append(Finding(OK, "files", "directories 0700, files 0600, owned by you, no symlinks"))


def _clock(out: list[Finding]) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    local = now.astimezone()
    text = f"UTC {now:%Y-%m-%d %H:%M:%S}, local {local:%H:%M:%S %Z} (UTC{local:%z})"
    if now.year < 2024:
        out.append(Finding(FAIL, "clock", f"{text}: the system clock is not set (use NTP)"))
    else:
        out.append(
            Finding(OK, "clock", f"{text}; KuCoin rejects requests more than 5 s off (kept by NTP)")
        )


def run_doctor(args: argparse.Namespace) -> int:
    from kutui.commands.common import print_json

    findings: list[Finding] = []
    paths, config = _config(args.home, findings)
    _registry(paths, findings)
    _keyring(config, findings)
    if config.store.kind == "openbao":
        _shared_store(paths, config, findings)
    else:
        _vault(paths, findings)
        _entries(args, paths, config, findings)
    _modes(paths, findings)
    _clock(findings)
    healthy = not any(f.level in (WARN, FAIL) for f in findings)
    if args.json:
        print_json({"healthy": healthy, "findings": [f.__dict__ for f in findings]})
    else:
        for f in findings:
            print(f"{f.level.upper():<5} {f.topic:<9} {f.text}")
        print("healthy" if healthy else "needs attention")
    return 0 if healthy else 1
