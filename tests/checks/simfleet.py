"""A simulated fleet of keys in every health state, shared by the engine and CLI tests."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from kutui.checks.runner import CheckTarget
from kutui.kucoin.simulator import SimKey, Simulator
from kutui.model import Credential, KeyRef, Status
from kutui.secret import Secret

API_URL = "https://api.kucoin.com"

#: uid-level faults (every key of the uid ends the same way).
USER_FAULTS: dict[str, Status] = {
    "frozen": Status.FROZEN,
    "clock_skew": Status.CLOCK_SKEW,
    "rate_limit": Status.RATE_LIMITED,
    "5xx": Status.UNREACHABLE,
    "timeout": Status.UNREACHABLE,
}
#: key-level problems, cycled over the keys of healthy uids.
KEY_CASES: tuple[Status, ...] = (
    Status.OK,
    Status.OK,
    Status.OK,
    Status.INVALID_KEY,
    Status.BAD_PASSPHRASE,
    Status.BAD_SECRET,
    Status.IP_DENIED,
    Status.PERMISSION_DENIED,
    Status.UNSUPPORTED_VERSION,
)


@dataclass(frozen=True)
class FleetKey:
    target: CheckTarget
    expected: Status
    sim_key: SimKey | None
    uid: int


def credential_for(key: SimKey) -> Credential:
    return Credential(
        Secret(key.api_key), Secret(key.api_secret), Secret(key.passphrase), key.api_version
    )


def _broken_credential(key: SimKey, status: Status) -> Credential:
    good = credential_for(key)
    if status is Status.INVALID_KEY:
        return Credential(Secret(secrets.token_hex(12)), good.api_secret, good.passphrase)
    if status is Status.BAD_PASSPHRASE:
        return Credential(good.api_key, good.api_secret, Secret("Wrong-pass-9"))
    if status is Status.BAD_SECRET:
        # A V1 key: its passphrase is not HMAC'd with the secret, so only the signature fails.
        return Credential(good.api_key, Secret(str(uuid.uuid4())), good.passphrase, 1)
    return good


def build_fleet(
    sim: Simulator,
    *,
    uids: int,
    keys: int,
    faults_every: int = 10,
    timeouts: int = 1,
) -> list[FleetKey]:
    """``uids`` users (masters with subs), ``keys`` keys spread round-robin over them.

    Every ``faults_every``-th uid carries a uid-level fault (cycling through USER_FAULTS, at most
    ``timeouts`` of them "timeout", which holds a request until the read timeout).
    """
    fault_names = [f for f in USER_FAULTS if f != "timeout"]
    user_fault: dict[int, str] = {}
    timeout_left = timeouts
    masters: list[int] = []
    uid_list: list[int] = []
    for n in range(uids):
        uid = 10_000 + n
        if n % 10 == 0:
            sim.add_user(uid)
            masters.append(uid)
        else:
            sim.add_user(uid, sub_name=f"sub{n}", master_uid=masters[-1])
        uid_list.append(uid)
        if n % faults_every == faults_every - 1:
            if timeout_left:
                fault = "timeout"
                timeout_left -= 1
            else:
                fault = fault_names[(n // faults_every) % len(fault_names)]
            user_fault[uid] = fault
            if fault == "frozen":
                sim.user(uid).status = "frozen"
            else:
                sim.set_fault(uid, fault)
    fleet: list[FleetKey] = []
    sim.server.reject_versions = (2,)  # the UNSUPPORTED_VERSION case's V2 keys get 400008
    versions = {Status.BAD_SECRET: 1, Status.UNSUPPORTED_VERSION: 2}
    for i in range(keys):
        uid = uid_list[i % uids]
        user = sim.user(uid)
        case = KEY_CASES[i % len(KEY_CASES)] if uid not in user_fault else Status.OK
        permission = "Spot" if case is Status.PERMISSION_DENIED else "General,Spot"
        whitelist = ["10.0.0.0/8"] if case is Status.IP_DENIED else []
        key = sim.add_key(
            uid,
            permission=permission,
            ip_whitelist=whitelist,
            remark=f"k{i}",
            api_version=versions.get(case, 3),
        )
        cred = _broken_credential(key, case)
        owner = "acct" if user.is_master else f"acct/{user.sub_name}"
        ref = KeyRef.parse(f"{owner}/key{i}")
        expected = USER_FAULTS[user_fault[uid]] if uid in user_fault else case
        target = CheckTarget(f"id{i}", ref, API_URL, cred, pool_hint=str(uid))
        fleet.append(FleetKey(target, expected, key, uid))
    return fleet
