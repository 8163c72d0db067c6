"""A kutui home (registry + weak test vault) holding a simulated fleet's keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kutui.model import Account, ApiKey, Credential, Registry, SubAccount, now_utc
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import KdfParams, Vault, VaultData

from .simfleet import FleetKey

PASSPHRASE = "test-vault-passphrase"
WEAK = KdfParams(kdf="argon2id", memory_kib=8 * 1024, iterations=1, lanes=1)


@dataclass
class SimHome:
    home: Home
    root: Path
    passphrase_file: Path

    def argv(self, *command: str) -> list[str]:
        return ["--home", str(self.root), "--passphrase-file", str(self.passphrase_file), *command]


def make_home(
    root: Path,
    fleet: list[FleetKey],
    *,
    api_url: str = "http://127.0.0.1:9",  # never the real KuCoin, even by mistake
    without_secret: tuple[str, ...] = (),
) -> SimHome:
    """Accounts/sub-accounts from the fleet's refs; keys in ``without_secret`` (key ids) get no
    vault entry and ``has_secret=False``."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = Home.load(root)
    registry = Registry()
    creds: dict[str, Credential] = {}
    for item in fleet:
        ref = item.target.ref
        account = registry.account(ref.account)
        if account is None:
            account = Account(ref.account, api_url=api_url)
            registry.accounts.append(account)
        if ref.sub and account.sub(ref.sub) is None:
            account.subaccounts.append(SubAccount(ref.sub))
        cred = item.target.credential
        assert cred is not None
        has_secret = item.target.key_id not in without_secret
        registry.keys.append(
            ApiKey(
                id=item.target.key_id,
                ref=ref,
                fingerprint=cred.api_key.reveal()[-4:],
                api_version=cred.api_version,
                added_at=now_utc(),
                has_secret=has_secret,
            )
        )
        if has_secret:
            creds[item.target.key_id] = cred

    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = registry.accounts, registry.keys

    home.update_registry(replace)
    vault = Vault.create(home.paths.vault, passphrase=Secret(PASSPHRASE), kdf=WEAK, allow_weak=True)

    def fill(data: VaultData) -> None:
        for key_id, cred in creds.items():
            data.put(key_id, cred)

    vault.update(fill)
    vault.close()
    passphrase_file = root / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    return SimHome(home, root, passphrase_file)
