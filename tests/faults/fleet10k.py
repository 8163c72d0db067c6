"""A large simulated fleet for the load test and ``bench/memory.py``: N keys, a share of them on
KuCoin users that time out, answer 5xx or answer an HTML error page, plus a few keys with a wrong
passphrase or an unknown API key. Every key's expected status is known in advance."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from kutui.kucoin.simulator import Simulator
from kutui.model import Account, ApiKey, Credential, KeyRef, Registry, Status, SubAccount, now_utc
from kutui.secret import Secret
from kutui.store.home import Home
from kutui.store.vault import KdfParams, Vault, VaultData

PASSPHRASE = "load-test-vault-passphrase"
WEAK = KdfParams(kdf="argon2id", memory_kib=8 * 1024, iterations=1, lanes=1)
KEYS_PER_UID = 10
UIDS_PER_MASTER = 10
FAULTS = ("timeout", "5xx", "html")


@dataclass
class Fleet:
    sim: Simulator
    root: Path
    passphrase_file: Path
    expected: dict[str, Status]  # ref -> status
    faulty_uids: dict[int, str]

    def argv(self, *command: str) -> list[str]:
        return ["--home", str(self.root), "--passphrase-file", str(self.passphrase_file), *command]


def build(root: Path, *, keys: int = 10_000, fault_share: float = 0.05, seed: int = 7) -> Fleet:
    sim = Simulator(seed=seed)
    uids = -(-keys // KEYS_PER_UID)
    fault_every = round(1 / fault_share)  # 5 %: every 20th uid, so every 20th key
    registry = Registry()
    creds: dict[str, Credential] = {}
    expected: dict[str, Status] = {}
    faulty: dict[int, str] = {}
    for n in range(uids):
        uid = 100_000 + n
        master = n % UIDS_PER_MASTER == 0
        account_name = f"acct{n // UIDS_PER_MASTER}"
        if master:
            sim.add_user(uid)
            master_uid = uid
            registry.accounts.append(Account(account_name, api_url="http://127.0.0.1:9", uid=uid))
        else:
            sim.add_user(uid, sub_name=f"sub{n}", master_uid=master_uid)
            account = registry.account(account_name)
            assert account is not None
            account.subaccounts.append(SubAccount(f"sub{n}", uid))
        if n % fault_every == fault_every - 1:
            faulty[uid] = FAULTS[len(faulty) % len(FAULTS)]
            sim.set_fault(uid, faulty[uid])
        for k in range(KEYS_PER_UID):
            index = n * KEYS_PER_UID + k
            if index >= keys:
                break
            sim_key = sim.add_key(uid, permission="General,Spot", passphrase=f"Pass-{index:06d}")
            cred = Credential(
                Secret(sim_key.api_key), Secret(sim_key.api_secret), Secret(sim_key.passphrase)
            )
            status = Status.OK
            if uid in faulty:
                status = Status.UNREACHABLE
            elif index % 97 == 3:
                cred = Credential(cred.api_key, cred.api_secret, Secret("Wrong-pass-1"))
                status = Status.BAD_PASSPHRASE
            elif index % 89 == 5:
                cred = Credential(Secret(uuid.uuid4().hex[:24]), cred.api_secret, cred.passphrase)
                status = Status.INVALID_KEY
            ref = KeyRef(account_name, "" if master else f"sub{n}", f"key{index}")
            key_id = f"id{index}"
            registry.keys.append(
                ApiKey(key_id, ref, cred.api_key.reveal()[-4:], added_at=now_utc(), has_secret=True)
            )
            creds[key_id] = cred
            expected[str(ref)] = status
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    (root / "config.toml").chmod(0o600)
    home = Home.load(root)

    def replace(reg: Registry) -> None:
        reg.accounts, reg.keys = registry.accounts, registry.keys

    home.update_registry(replace)
    vault = Vault.create(home.paths.vault, passphrase=Secret(PASSPHRASE), kdf=WEAK, allow_weak=True)

    def fill(data: VaultData) -> None:
        for key_id, cred in creds.items():
            data.put(key_id, cred)

    vault.update(fill)
    vault.close()
    passphrase_file = root.parent / "load-passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    return Fleet(sim, root, passphrase_file, expected, faulty)
