"""``kutui demo``: a throw-away home with a demo vault and keys on the in-process simulator.

Three accounts, eight sub-accounts and forty keys arranged so one ``C`` shows every status and
flag: ok, wrong passphrase, IP denied, expiring soon, unbound trading key, permission drift,
rate-limited, unreachable (plus an invalid key and an over-age key). Everything is derived from a
fixed seed, so fingerprints and labels are the same on every run; only ages follow the clock.
One ``Clock`` (kutui/clock.py) serves the demo's dates, its simulator and the app that runs it, so
a key built to expire in five days still has five days left when the simulator judges it.

The demo vault uses deliberately weak KDF parameters (it guards fake keys and must open in a
blink); ``Vault.create(..., allow_weak=True)`` is reachable only from Python, never from the CLI.
No textual import here: the TUI receives the result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from kutui.clock import Clock, current
from kutui.kucoin.simulator import Simulator, SimulatorTransport
from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    Credential,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
    SubAccount,
)
from kutui.secret import Secret
from kutui.store.files import atomic_write, ensure_private_dir, locked
from kutui.store.home import Home
from kutui.store.vault import KdfParams, Vault

#: Printed on the unlock screen: it protects fake keys only.
DEMO_PASSPHRASE = "kutui-demo-passphrase"  # noqa: S105  # nosec B105  # public, guards fake keys
DEMO_API_URL = "http://127.0.0.1:8600"
#: The IP address the demo's checks come from (the "IP denied" keys whitelist another one).
DEMO_CLIENT_IP = "10.1.2.3"
DEMO_SEED = 20261125
WEAK_KDF = KdfParams(kdf="argon2id", memory_kib=8 * 1024, iterations=1, lanes=1)

DEMO_CONFIG = f"""\
# kutui demo home: fake keys on the built-in simulator. Safe to delete.
[ui]
theme = "kucoin-dark"
idle_lock_minutes = 0

[checks]
concurrency = 16
timeout_seconds = 2.0
retries = 0
max_rate_wait_seconds = 0.5

[vault]
unlock = "passphrase"

[kucoin]
api_url = "{DEMO_API_URL}"
"""

# (account, master uid, [(sub, uid, user fault)])
ACCOUNTS: tuple[tuple[str, int, tuple[tuple[str, int, str], ...]], ...] = (
    ("alpha", 1001, (("bot-spot", 2001, ""), ("bot-futures", 2002, ""), ("treasury", 2003, ""))),
    ("bravo", 1002, (("mm-1", 2011, ""), ("mm-2", 2012, ""), ("arb", 2013, "rate_limit"))),
    ("charlie", 1003, (("hedge", 2021, ""), ("reporting", 2022, "5xx"))),
)

#: Per owner, the keys as (label, kind). Kinds are explained in ``_sim_key``.
KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "alpha": (("admin", "ok"), ("backup", "old")),
    "alpha/bot-spot": (
        ("grid-1", "ok"),
        ("grid-2", "ok"),
        ("dca", "unbound"),
        ("scalper", "bad_passphrase"),
        ("maker", "ok"),
    ),
    "alpha/bot-futures": (
        ("perp-1", "ok"),
        ("perp-2", "drift"),
        ("hedger", "expiring"),
        ("basis", "ip_denied"),
        ("funding", "ok"),
    ),
    "alpha/treasury": (("sweeper", "drift"), ("payouts", "ok"), ("audit-ro", "ok"), ("cold", "ok")),
    "bravo": (("admin", "ok"),),
    "bravo/mm-1": (
        ("quotes-a", "ok"),
        ("quotes-b", "ok"),
        ("inventory", "expiring"),
        ("legacy", "invalid"),
        ("quotes-z", "ok"),
    ),
    "bravo/mm-2": (("quotes-c", "ip_denied"), ("quotes-d", "ok"), ("monitor", "unbound")),
    "bravo/arb": (("tri-1", "ok"), ("tri-2", "ok"), ("cross", "ok"), ("stat", "ok")),
    "charlie": (("admin", "ok"), ("ops", "bad_passphrase")),
    "charlie/hedge": (
        ("delta-1", "ok"),
        ("delta-2", "old"),
        ("options", "drift"),
        ("rebal", "expiring"),
        ("vol", "ok"),
    ),
    "charlie/reporting": (("pnl", "ok"), ("tax", "ok"), ("dash", "ok"), ("export", "ok")),
}


@dataclass
class DemoKey:
    key: ApiKey
    kind: str
    expected_status: Status


@dataclass
class Demo:
    home: Home
    simulator: Simulator
    clock: Clock
    passphrase: str = DEMO_PASSPHRASE
    keys: list[DemoKey] = field(default_factory=list)

    def transport(self) -> SimulatorTransport:
        return self.simulator.transport(client_ip=DEMO_CLIENT_IP)

    def open_vault(self) -> Vault:
        return self.home.open_vault(passphrase=Secret(self.passphrase))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_EXPECTED = {
    "bad_passphrase": Status.BAD_PASSPHRASE,
    "ip_denied": Status.IP_DENIED,
    "invalid": Status.INVALID_KEY,
}


def build_demo(
    root: Path,
    *,
    clock: Clock | None = None,
    prechecked: bool = False,
    scale: int = 1,
) -> Demo:
    """Create the demo home under ``root`` (which must not hold a vault yet).

    ``clock`` dates the keys and runs the simulator (default ``kutui.clock.current()``); give the
    app the same one (``demo.clock``). ``prechecked`` stores the result each key would get, so a
    screen can show every status without running a check (snapshot tests). ``scale`` repeats the
    key set (benchmarks).
    """
    clock = clock or current()
    now = clock.now()
    rng = random.Random(DEMO_SEED)  # noqa: S311  # nosec B311  # fake demo data
    ensure_private_dir(root)
    config_path = root / "config.toml"
    with locked(config_path):
        atomic_write(config_path, DEMO_CONFIG.encode())
    home = Home.load(root)
    sim = Simulator(clock=clock.ms)
    registry = Registry()
    credentials: dict[str, Credential] = {}
    demo = Demo(home=home, simulator=sim, clock=clock)
    fault_of: dict[str, str] = {}
    uid_of: dict[str, int] = {}
    for account, master_uid, subs in ACCOUNTS:
        sim.add_user(master_uid, vip_level=2)
        uid_of[account] = master_uid
        registry.accounts.append(
            Account(
                name=account,
                api_url=DEMO_API_URL,
                uid=master_uid,
                subaccounts=[SubAccount(name=s, uid=u) for s, u, _f in subs],
            )
        )
        for sub, uid, fault in subs:
            sim.add_user(uid, sub_name=sub, master_uid=master_uid)
            if fault:
                sim.set_fault(uid, fault)
            uid_of[f"{account}/{sub}"] = uid
            fault_of[f"{account}/{sub}"] = fault
    counter = 0
    for copy in range(scale):
        for owner, keys in KEYS.items():
            for label, kind in keys:
                counter += 1
                full_label = label if copy == 0 else f"{label}-{copy}"
                ref = KeyRef.parse(f"{owner}/{full_label}")
                key, cred = _make_key(
                    sim, rng, ref, kind, uid_of[owner], now, counter, fault_of.get(owner, "")
                )
                registry.keys.append(key)
                credentials[key.id] = cred
                status = _expected_status(kind, fault_of.get(owner, ""))
                demo.keys.append(DemoKey(key, kind, status))
                if prechecked:
                    key.last_check = _precheck(key, kind, status, now, sim)
    vault = Vault.create(
        home.paths.vault, passphrase=Secret(DEMO_PASSPHRASE), kdf=WEAK_KDF, allow_weak=True
    )

    def fill(data: object) -> None:
        for key_id, cred in credentials.items():
            data.put(key_id, cred)  # type: ignore[attr-defined]

    vault.update(fill)
    vault.close()

    def replace(reg: Registry) -> None:
        reg.accounts = registry.accounts
        reg.keys = registry.keys

    home.update_registry(replace)
    return demo


def _expected_status(kind: str, fault: str) -> Status:
    if fault == "rate_limit":
        return Status.RATE_LIMITED
    if fault == "5xx":
        return Status.UNREACHABLE
    return _EXPECTED.get(kind, Status.OK)


def _make_key(
    sim: Simulator,
    rng: random.Random,
    ref: KeyRef,
    kind: str,
    uid: int,
    now: datetime,
    counter: int,
    fault: str,
) -> tuple[ApiKey, Credential]:
    """One key on the simulator and its registry record; ``kind`` decides how it misbehaves."""
    api_key, api_secret = _hex(rng, 24), _uuid(rng)
    passphrase = f"Demo-pass-{counter:03d}"
    permission = "General"
    whitelist: tuple[str, ...] = (DEMO_CLIENT_IP,)
    expected: tuple[str, ...] = ("General",)
    age_days = 5 + (counter * 7) % 60
    expire_days = -1
    if kind == "unbound":
        permission, whitelist, expected = "General,Spot", (), ("General", "Spot")
    elif kind == "drift":
        permission, expected = "General,Spot,Futures", ("General", "Spot")
    elif kind == "ip_denied":
        whitelist = ("192.0.2.7",)
    elif kind == "expiring":
        expire_days, age_days = 30, 25
    elif kind == "old":
        age_days = 140
    elif kind in ("ok",) and ref.sub and counter % 3 == 0:
        permission, expected = "General,Spot", ("General", "Spot")
    created = now - timedelta(days=age_days)
    if kind != "invalid":  # an "invalid" key was deleted on KuCoin: the simulator lacks it
        sim.add_key(
            uid,
            api_key=api_key,
            api_secret=api_secret,
            passphrase=passphrase,
            permission=permission,
            ip_whitelist=whitelist,
            remark=str(ref),
            created_at=int(created.timestamp() * 1000),
            expire_days=expire_days,
        )
    stored_passphrase = "Wrong-pass-999" if kind == "bad_passphrase" else passphrase
    cred = Credential(
        api_key=Secret(api_key), api_secret=Secret(api_secret), passphrase=Secret(stored_passphrase)
    )
    note = PermissionNote(
        text=f"**{ref.label}** on {ref.owner}: demo key ({kind.replace('_', ' ')}).",
        expected_permissions=expected,
        consumers=(f"{ref.label}.service@host-{counter % 4 + 1}",),
    )
    key = ApiKey(
        id=f"demo{counter:04d}",
        ref=ref,
        fingerprint=api_key[-4:],
        created_at=created,
        added_at=created,
        expire_days=expire_days,
        has_secret=True,
        note=note,
    )
    return key, cred


def _precheck(key: ApiKey, kind: str, status: Status, now: datetime, sim: Simulator) -> CheckResult:
    """The result a live check would give (used where no check should run: snapshots)."""
    checked = now - timedelta(minutes=3)
    if status is not Status.OK:
        message = {
            Status.BAD_PASSPHRASE: "Invalid KC-API-PASSPHRASE",
            Status.IP_DENIED: f"Invalid request ip, the current clientIp is:{DEMO_CLIENT_IP}",
            Status.INVALID_KEY: "KC-API-KEY not exists",
            Status.RATE_LIMITED: "Too Many Requests",
            Status.UNREACHABLE: "HTTP 503 from KuCoin",
        }.get(status, "")
        return CheckResult(status=status, checked_at=checked, message=message)
    simkey = next(k for k in sim.state.keys if k.remark == str(key.ref))
    key.permissions_seen = simkey.permissions
    key.ip_whitelist_seen = ",".join(simkey.ip_whitelist)
    return CheckResult(
        status=Status.OK,
        checked_at=checked,
        code="200000",
        http_status=200,
        latency_ms=12.0,
        permissions=simkey.permissions,
        ip_whitelist=",".join(simkey.ip_whitelist),
        api_version=3,
        uid=simkey.uid,
        created_at=key.created_at,
    )
