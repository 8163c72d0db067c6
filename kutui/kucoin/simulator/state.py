"""The simulator's state: users, keys and server settings, and the TOML file that describes them.

File format (every table and key optional except those marked required)::

    [server]
    time_offset_ms = 0        # the server clock runs this far ahead of the host clock
    latency_ms = 0            # added to every response
    jitter_ms = 0             # plus a uniform random 0..jitter_ms
    error_rate = 0.0          # share of requests answered 5xx (JSON 500000 or 503)
    html_error_rate = 0.0     # share of requests answered with an HTML error page
    timeout_rate = 0.0        # share of requests never answered
    quota_window_ms = 30000   # Management/Public quota window, from the first request
    reject_versions = []      # key versions refused with 400008, e.g. [1, 2]
    seed = 0                  # random seed for jitter and faults (0 = random)

    [[users]]
    uid = 1001                # required, unique
    sub_name = ""             # "" = master account
    master_uid = 1001         # a sub-account's owner; a master's own uid (default: uid)
    status = "active"         # or "frozen"
    vip_level = 0             # 0..12
    remarks = ""
    created_at = 0            # ms; 0 = when loaded
    fault = ""                # "", "timeout", "5xx", "html", "clock_skew", "rate_limit"

    [[keys]]
    uid = 1001                # required: the user owning the key
    api_key = "6705f5c311545b000157d3eb"   # required, unique
    api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"   # required
    passphrase = "Ab12345678" # required
    api_version = 3           # 1, 2 or 3
    permission = "General"    # comma-separated KuCoin permission names
    ip_whitelist = []         # empty = any address; IPs or CIDR networks, at most 20
    remark = ""
    created_at = 0            # ms; 0 = when loaded
    expire_days = -1          # -1, 30, 90, 180 or 360

Errors name the file and the key path, with 0-based array indexes: ``keys[2].api_version``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kutui.errors import FileProblem
from kutui.model import EXPIRE_CHOICES, PERMISSIONS, Credential
from kutui.secret import Secret

FAULTS = ("", "timeout", "5xx", "html", "clock_skew", "rate_limit")
USER_STATUSES = ("active", "frozen")


class SimulatorStateError(FileProblem):
    """The simulator state file (or a builder call) is not valid."""


@dataclass
class ServerSettings:
    time_offset_ms: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    html_error_rate: float = 0.0
    timeout_rate: float = 0.0
    quota_window_ms: int = 30_000
    reject_versions: tuple[int, ...] = ()
    seed: int = 0
    hang_seconds: float = 60.0  # how long a "timeout" holds a real connection open


@dataclass
class SimUser:
    uid: int
    sub_name: str = ""
    master_uid: int = 0  # 0 -> the user's own uid (a master)
    status: str = "active"
    vip_level: int = 0
    remarks: str = ""
    created_at: int = 0
    fault: str = ""

    def __post_init__(self) -> None:
        if not self.master_uid:
            self.master_uid = self.uid

    @property
    def is_master(self) -> bool:
        return not self.sub_name

    @property
    def frozen(self) -> bool:
        return self.status == "frozen"


@dataclass
class SimKey:
    uid: int
    api_key: str
    api_secret: str
    passphrase: str
    api_version: int = 3
    permission: str = "General"
    ip_whitelist: tuple[str, ...] = ()
    remark: str = ""
    created_at: int = 0
    expire_days: int = -1

    @property
    def permissions(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.permission.split(",") if p.strip())

    def expired(self, now_ms: int) -> bool:
        return self.expire_days > 0 and now_ms >= self.created_at + self.expire_days * 86_400_000

    def credential(self) -> Credential:
        """This key's credentials as the client takes them (tests and the demo)."""
        return Credential(
            api_key=Secret(self.api_key),
            api_secret=Secret(self.api_secret),
            passphrase=Secret(self.passphrase),
            api_version=self.api_version,
        )


@dataclass
class SimState:
    server: ServerSettings = field(default_factory=ServerSettings)
    users: list[SimUser] = field(default_factory=list)
    keys: list[SimKey] = field(default_factory=list)


# --------------------------------------------------------------------------- validation


def permission_problem(permission: str) -> str | None:
    names = [p.strip() for p in permission.split(",")]
    unknown = [n for n in names if n not in PERMISSIONS]
    if not permission.strip() or unknown:
        return (
            f"unknown permission {', '.join(unknown) or '(empty)'}; known: {', '.join(PERMISSIONS)}"
        )
    return None


def ip_entry_problem(entry: str) -> str | None:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return f"{entry!r} is not an IP address or network"
    return None


def validate_user(user: SimUser) -> str | None:
    """A problem with one user on its own, as ``(key, problem)`` text, or None."""
    if user.uid <= 0:
        return "uid: must be a positive integer"
    if user.status not in USER_STATUSES:
        return f"status: must be one of {', '.join(USER_STATUSES)}"
    if not 0 <= user.vip_level <= 12:
        return "vip_level: must be 0..12"
    if user.fault not in FAULTS:
        return f"fault: must be one of {', '.join(repr(f) for f in FAULTS)}"
    if user.is_master and user.master_uid != user.uid:
        return 'master_uid: a master account (sub_name = "") must be its own master'
    if not user.is_master and user.master_uid == user.uid:
        return "master_uid: a sub-account needs its master's uid"
    return None


def validate_key(key: SimKey) -> str | None:
    if not key.api_key:
        return "api_key: must not be empty"
    if not key.api_secret:
        return "api_secret: must not be empty"
    if not key.passphrase:
        return "passphrase: must not be empty"
    if key.api_version not in (1, 2, 3):
        return "api_version: must be 1, 2 or 3"
    problem = permission_problem(key.permission)
    if problem:
        return f"permission: {problem}"
    if len(key.ip_whitelist) > 20:
        return "ip_whitelist: at most 20 entries"
    for n, entry in enumerate(key.ip_whitelist):
        problem = ip_entry_problem(entry)
        if problem:
            return f"ip_whitelist[{n}]: {problem}"
    if key.expire_days not in EXPIRE_CHOICES:
        return f"expire_days: must be one of {', '.join(map(str, EXPIRE_CHOICES))}"
    return None


def validate_state(state: SimState) -> tuple[str, str] | None:
    """The first cross-record problem as (key path, problem), or None."""
    by_uid: dict[int, SimUser] = {}
    for n, user in enumerate(state.users):
        problem = validate_user(user)
        if problem:
            key, _, text = problem.partition(": ")
            return f"users[{n}].{key}", text
        if user.uid in by_uid:
            return f"users[{n}].uid", f"uid {user.uid} appears twice"
        by_uid[user.uid] = user
    names: set[tuple[int, str]] = set()
    for n, user in enumerate(state.users):
        if user.is_master:
            continue
        master = by_uid.get(user.master_uid)
        if master is None or not master.is_master:
            return f"users[{n}].master_uid", f"no master account has uid {user.master_uid}"
        if (user.master_uid, user.sub_name) in names:
            return f"users[{n}].sub_name", f"sub-account {user.sub_name!r} appears twice"
        names.add((user.master_uid, user.sub_name))
    seen: set[str] = set()
    for n, sim_key in enumerate(state.keys):
        problem = validate_key(sim_key)
        if problem:
            name, _, text = problem.partition(": ")
            return f"keys[{n}].{name}", text
        if sim_key.uid not in by_uid:
            return f"keys[{n}].uid", f"no user has uid {sim_key.uid}"
        if sim_key.api_key in seen:
            return f"keys[{n}].api_key", "this API key appears twice"
        seen.add(sim_key.api_key)
    return None


# --------------------------------------------------------------------------- TOML loading

_SERVER_FIELDS: dict[str, tuple[type, ...]] = {
    "time_offset_ms": (int,),
    "latency_ms": (int, float),
    "jitter_ms": (int, float),
    "error_rate": (int, float),
    "html_error_rate": (int, float),
    "timeout_rate": (int, float),
    "quota_window_ms": (int,),
    "reject_versions": (list,),
    "seed": (int,),
    "hang_seconds": (int, float),
}
_USER_FIELDS: dict[str, tuple[type, ...]] = {
    "uid": (int,),
    "sub_name": (str,),
    "master_uid": (int,),
    "status": (str,),
    "vip_level": (int,),
    "remarks": (str,),
    "created_at": (int,),
    "fault": (str,),
}
_KEY_FIELDS: dict[str, tuple[type, ...]] = {
    "uid": (int,),
    "api_key": (str,),
    "api_secret": (str,),
    "passphrase": (str,),
    "api_version": (int,),
    "permission": (str,),
    "ip_whitelist": (list,),
    "remark": (str,),
    "created_at": (int,),
    "expire_days": (int,),
}
_REQUIRED_USER = ("uid",)
_REQUIRED_KEY = ("uid", "api_key", "api_secret", "passphrase")
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "an array"}


def _fields(
    path: Path,
    where: str,
    table: object,
    spec: dict[str, tuple[type, ...]],
    required: tuple[str, ...],
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SimulatorStateError(path, "must be a table", key=where)
    for name in required:
        if name not in table:
            raise SimulatorStateError(path, "is required", key=f"{where}.{name}")
    out: dict[str, Any] = {}
    for name, value in table.items():
        if name not in spec:
            known = ", ".join(spec)
            raise SimulatorStateError(path, f"unknown key (known: {known})", key=f"{where}.{name}")
        types = spec[name]
        # bool is an int subclass in Python; TOML booleans are never valid here.
        if isinstance(value, bool) or not isinstance(value, types):
            raise SimulatorStateError(
                path, f"must be {_TYPE_NAMES[types[0]]}", key=f"{where}.{name}"
            )
        out[name] = value
    return out


def _server(path: Path, table: object) -> ServerSettings:
    values = _fields(path, "server", table, _SERVER_FIELDS, ())
    settings = ServerSettings()
    for name, value in values.items():
        if name == "reject_versions":
            if not all(isinstance(v, int) and v in (1, 2, 3) for v in value):
                raise SimulatorStateError(
                    path, "must list key versions 1, 2 or 3", key="server.reject_versions"
                )
            value = tuple(value)
        elif name.endswith("_rate") and not 0.0 <= float(value) <= 1.0:
            raise SimulatorStateError(path, "must be between 0 and 1", key=f"server.{name}")
        elif name in ("latency_ms", "jitter_ms", "hang_seconds") and value < 0:
            raise SimulatorStateError(path, "must not be negative", key=f"server.{name}")
        elif name == "quota_window_ms" and value <= 0:
            raise SimulatorStateError(path, "must be positive", key=f"server.{name}")
        setattr(settings, name, value)
    return settings


def _array(path: Path, doc: dict[str, Any], name: str) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise SimulatorStateError(path, f"must be an array of tables ([[{name}]])", key=name)
    return value


def parse_state(doc: dict[str, Any], path: Path) -> SimState:
    unknown = sorted(set(doc) - {"server", "users", "keys"})
    if unknown:
        raise SimulatorStateError(
            path, "unknown table (known: server, users, keys)", key=unknown[0]
        )
    state = SimState(server=_server(path, doc.get("server", {})))
    for n, table in enumerate(_array(path, doc, "users")):
        state.users.append(
            SimUser(**_fields(path, f"users[{n}]", table, _USER_FIELDS, _REQUIRED_USER))
        )
    for n, table in enumerate(_array(path, doc, "keys")):
        values = _fields(path, f"keys[{n}]", table, _KEY_FIELDS, _REQUIRED_KEY)
        whitelist = values.get("ip_whitelist", [])
        if not all(isinstance(ip, str) for ip in whitelist):
            raise SimulatorStateError(
                path, "must be an array of strings", key=f"keys[{n}].ip_whitelist"
            )
        values["ip_whitelist"] = tuple(whitelist)
        state.keys.append(SimKey(**values))
    problem = validate_state(state)
    if problem:
        raise SimulatorStateError(path, problem[1], key=problem[0])
    return state


def load_state(path: Path | str) -> SimState:
    """Read and validate a state file; every problem is a ``SimulatorStateError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimulatorStateError(path, "no such file") from None
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (bad byte at offset {exc.start})"
        raise SimulatorStateError(path, problem) from None
    except OSError as exc:
        raise SimulatorStateError(path, f"cannot be read ({type(exc).__name__})") from None
    try:
        doc = tomllib.loads(text.removeprefix("\ufeff"))  # a BOM from a Windows editor
    except tomllib.TOMLDecodeError as exc:
        raise SimulatorStateError(path, f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise SimulatorStateError(path, "not valid TOML: nested too deeply") from None
    return parse_state(doc, path)
