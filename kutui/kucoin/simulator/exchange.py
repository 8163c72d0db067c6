"""The in-memory KuCoin: routing, authentication, quotas, key CRUD and fault injection.

``Exchange.handle`` takes one request (method, raw target as sent, headers, body, client IP) and
returns a ``SimResponse``; the in-process transport and the loopback server only move bytes.
Latency and "never answered" faults are returned as ``delay_s``/``hang`` so each front end can
wait the asyncio way. Whatever a request holds, it gets an answer: a handler that raises becomes
a 500000 envelope, never a dropped connection.

Authentication follows docs/kucoin.md, in this order: missing header or a timestamp that is not
a number (400001), stale timestamp (400002), unknown or expired key (400003), version header
(400009 for a value other than 1, 2 or 3; 400008 for versions the server rejects), passphrase
(400004), signature over the *decoded* query (400005), frozen user (411100), IP whitelist
(400006), permission (400007), a sub-account key on a master-only endpoint (400010), then the
Management quota (429000). KuCoin checks the passphrase before the signature, and the V2/V3
passphrase header is HMAC'd with the secret, so a wrong secret reads as 400004 too. The version
header only says how the passphrase is sent: "2" and "3" (HMAC'd) are interchangeable for V2
and V3 keys; "1" or no header means the plaintext passphrase, which only a V1 key accepts.
HTTP statuses are in ``ERRORS``; those KuCoin was never seen to send are marked there and in
docs/kucoin.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

from kutui.clock import current
from kutui.kucoin import signing
from kutui.kucoin.ratelimit import PUBLIC_QUOTA, answered_from_public_pool, management_quota
from kutui.kucoin.simulator.state import (
    FAULTS,
    SimKey,
    SimState,
    SimulatorStateError,
    SimUser,
    ip_entry_problem,
    validate_key,
    validate_user,
)
from kutui.model import EXPIRE_CHOICES, SUB_KEY_PERMISSIONS

JSON_TYPE = "application/json"
HTML_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>cloudflare</center></body></html>"
)
EXPIRE_VALUES = tuple(str(days) for days in EXPIRE_CHOICES)  # as KuCoin reads the form field
RATE_LIMIT_FAULT_RESET_MS = 120_000
TIMESTAMP_WINDOW_MS = 5_000

# code -> (HTTP status, KuCoin's message, whether that HTTP status was seen from KuCoin).
# Unseen statuses are the documented default for the code's kind (docs/kucoin.md, "The
# simulator's codes and HTTP statuses").
ERRORS: dict[str, tuple[int, str, bool]] = {
    "400001": (400, "Please check the header of your request for KC-API-KEY, KC-API-SIGN, "
                    "KC-API-TIMESTAMP, KC-API-PASSPHRASE", False),
    "400002": (400, "Invalid KC-API-TIMESTAMP", True),
    "400003": (401, "KC-API-KEY not exists", True),
    "400004": (401, "Invalid KC-API-PASSPHRASE", True),
    "400005": (401, "Invalid KC-API-SIGN", True),
    "400006": (403, "Invalid request IP, the current client IP is: {ip}.", True),
    "400007": (403, "Access denied, requires more permission.", False),
    "400008": (401, "V1 & V2 API keys are no longer supported by this API. "
                    "Please create a V3 API key.", False),
    "400009": (400, "Invalid KC-API-KEY-VERSION.", False),
    "400010": (403, "UID access denied, requires more permission.", False),
    "400100": (400, "Parameter Error", False),
    "404000": (404, "Url Not Found", False),
    "405000": (405, "Method Not Allowed", False),
    "411100": (403, "User are frozen", False),
    "415000": (415, "Unsupported Media Type", False),
    "429000": (429, "Too Many Requests", True),
    "500000": (500, "Internal Server Error", False),
}  # fmt: skip


def _status_and_message(code: str) -> tuple[int, str]:
    status, msg, _seen = ERRORS.get(code, (400, "Error", False))
    return status, msg


@dataclass
class SimResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay_s: float = 0.0
    hang: bool = False  # never answer: the client's own timeout must fire


@dataclass
class Counters:
    """What the simulator saw, for tests: totals, 429s sent, per endpoint and per body code."""

    requests: int = 0
    rate_limited: int = 0
    endpoints: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.requests = self.rate_limited = 0
        self.endpoints.clear()
        self.codes.clear()
        self.faults.clear()


class ApiFailure(Exception):
    """Raised inside a handler: becomes a KuCoin error envelope."""

    def __init__(self, code: str, msg: str = "", http_status: int = 0) -> None:
        super().__init__(code)
        default_status, default_msg = _status_and_message(code)
        self.code = code
        self.msg = msg or default_msg
        self.http_status = http_status or default_status


@dataclass
class Request:
    method: str
    path: str
    query: str  # raw, as sent (percent-encoded)
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)
    user: SimUser | None = None
    key: SimKey | None = None

    def authed_user(self) -> SimUser:
        if self.user is None:
            raise RuntimeError("handler reached without authentication")
        return self.user

    def authed_key(self) -> SimKey:
        if self.key is None:
            raise RuntimeError("handler reached without authentication")
        return self.key

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            raise ApiFailure("400100", "Request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise ApiFailure("400100", "Request body must be a JSON object")
        return value


Handler = Callable[["Exchange", Request], object]


@dataclass(frozen=True)
class Route:
    handler: Handler
    weight: int
    private: bool = True
    permission: str = "General"
    master_only: bool = False


def mask_ip(entry: str) -> str:
    """KuCoin shows whitelists masked: ``203.0.113.154`` -> ``203.**.154``."""
    entry = entry.strip()
    sep = ":" if ":" in entry else "."
    parts = entry.split(sep)
    if len(parts) < 3:
        return "**"
    return f"{parts[0]}{sep}**{sep}{parts[-1]}"


def mask_whitelist(entries: tuple[str, ...]) -> str:
    return ",".join(mask_ip(e) for e in entries)


def _envelope(data: object) -> bytes:
    return json.dumps({"code": "200000", "data": data}, separators=(",", ":")).encode()


def _error_body(code: str, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()


def internal_error(what: str) -> SimResponse:
    """KuCoin's 500000 envelope, for a request the simulator itself failed on (``what``)."""
    msg = f"{_status_and_message('500000')[1]} ({what})"
    return SimResponse(500, _error_body("500000", msg), [("content-type", JSON_TYPE)])


class Exchange:
    """An in-memory KuCoin. ``clock`` returns the host time in epoch milliseconds."""

    def __init__(
        self,
        state: SimState | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.state = state or SimState()
        self.clock: Callable[[], float] = clock or current().ms
        seed = self.state.server.seed
        self.rng = random.Random(seed if seed else None)  # noqa: S311 (faults, not crypto)  # nosec B311
        self.counters = Counters()
        self._users: dict[int, SimUser] = {}
        self._keys: dict[str, SimKey] = {}
        self._quota: dict[str, list[int]] = {}  # pool id -> [window start ms, used]
        now = self.now_ms()
        # 0 in a state file means "now".
        for user in self.state.users:
            user.created_at = user.created_at or now
        for key in self.state.keys:
            key.created_at = key.created_at or now
        self._reindex()

    # ------------------------------------------------------------------ state
    @property
    def server(self) -> Any:
        return self.state.server

    def _reindex(self) -> None:
        self._users = {u.uid: u for u in self.state.users}
        self._keys = {k.api_key: k for k in self.state.keys}

    def now_ms(self) -> int:
        """The server's clock: host time plus the configured offset."""
        return int(self.clock()) + self.state.server.time_offset_ms

    def user(self, uid: int) -> SimUser:
        return self._users[uid]

    def key(self, api_key: str) -> SimKey | None:
        return self._keys.get(api_key)

    def subs_of(self, master_uid: int) -> list[SimUser]:
        return sorted(
            (u for u in self.state.users if not u.is_master and u.master_uid == master_uid),
            key=lambda u: u.uid,
        )

    def add_user(
        self,
        uid: int,
        *,
        sub_name: str = "",
        master_uid: int = 0,
        status: str = "active",
        vip_level: int = 0,
        remarks: str = "",
        created_at: int = 0,
        fault: str = "",
    ) -> SimUser:
        user = SimUser(uid, sub_name, master_uid, status, vip_level, remarks, created_at, fault)
        user.created_at = user.created_at or self.now_ms()
        problem = validate_user(user)
        if problem is None and uid in self._users:
            problem = f"uid: {uid} exists already"
        if problem is None and not user.is_master:
            master = self._users.get(user.master_uid)
            if master is None or not master.is_master:
                problem = f"master_uid: no master account has uid {user.master_uid}"
        if problem:
            key, _, text = problem.partition(": ")
            raise SimulatorStateError("<simulator>", text, key=f"add_user.{key}")
        self.state.users.append(user)
        self._users[uid] = user
        return user

    def add_key(
        self,
        uid: int,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        passphrase: str = "Passphrase-1",  # noqa: S107 - a fake key's default
        api_version: int = 3,
        permission: str = "General",
        ip_whitelist: tuple[str, ...] | list[str] = (),
        remark: str = "",
        created_at: int = 0,
        expire_days: int = -1,
    ) -> SimKey:
        key = SimKey(
            uid=uid,
            api_key=api_key or secrets.token_hex(12),
            api_secret=api_secret or str(uuid.uuid4()),
            passphrase=passphrase,
            api_version=api_version,
            permission=permission,
            ip_whitelist=tuple(ip_whitelist),
            remark=remark,
            created_at=created_at or self.now_ms(),
            expire_days=expire_days,
        )
        problem = validate_key(key)
        if problem is None and uid not in self._users:
            problem = f"uid: no user has uid {uid}"
        if problem is None and key.api_key in self._keys:
            problem = "api_key: this API key exists already"
        if problem:
            name, _, text = problem.partition(": ")
            raise SimulatorStateError("<simulator>", text, key=f"add_key.{name}")
        self.state.keys.append(key)
        self._keys[key.api_key] = key
        return key

    def remove_key(self, api_key: str) -> None:
        key = self._keys.pop(api_key)
        self.state.keys.remove(key)

    def set_fault(self, uid: int, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self._users[uid].fault = fault

    def keys_of(self, uid: int) -> list[SimKey]:
        now = self.now_ms()
        return [k for k in self.state.keys if k.uid == uid and not k.expired(now)]

    # ------------------------------------------------------------------ entry point
    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        client_ip: str,
    ) -> SimResponse:
        """Serve one request. ``target`` is the path and query exactly as sent."""
        path, _, query = target.partition("?")
        request = Request(
            method.upper(),
            unquote(path),
            query,
            {k.lower(): v for k, v in headers.items()},
            body,
            client_ip,
        )
        endpoint = f"{request.method} {request.path}"
        self.counters.requests += 1
        self.counters.endpoints[endpoint] += 1
        settings = self.state.server
        delay = settings.latency_ms / 1000.0
        if settings.jitter_ms:
            delay += self.rng.uniform(0.0, settings.jitter_ms) / 1000.0
        fault = self._global_fault()
        try:
            response = self._fault_response(fault, None) if fault else self._serve(request)
        except Exception as exc:  # noqa: BLE001 - any request gets an answer, never a dropped line
            self.counters.codes["500000"] += 1
            response = internal_error(type(exc).__name__)
        response.delay_s += delay
        return response

    def _global_fault(self) -> str:
        settings = self.state.server
        if settings.timeout_rate and self.rng.random() < settings.timeout_rate:
            return "timeout"
        if settings.error_rate and self.rng.random() < settings.error_rate:
            return "5xx"
        if settings.html_error_rate and self.rng.random() < settings.html_error_rate:
            return "html"
        return ""

    def _fault_response(self, fault: str, user: SimUser | None) -> SimResponse:
        self.counters.faults[fault] += 1
        if fault == "timeout":
            return SimResponse(504, b"", hang=True)
        if fault == "html":
            return SimResponse(502, HTML_PAGE, [("content-type", "text/html")])
        if fault == "clock_skew":
            return self._error("400002")
        if fault == "rate_limit":
            limit = management_quota(user.vip_level) if user else PUBLIC_QUOTA
            headers = _limit_headers(limit, 0, RATE_LIMIT_FAULT_RESET_MS)
            self.counters.rate_limited += 1
            return self._error("429000", extra_headers=headers)
        # "5xx": alternate between KuCoin's JSON 500 and a maintenance 503.
        if self.rng.random() < 0.5:
            return self._error("500000")
        return SimResponse(
            503, _error_body("503000", "Service Unavailable"), [("content-type", JSON_TYPE)]
        )

    def _error(
        self,
        code: str,
        msg: str = "",
        http_status: int = 0,
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> SimResponse:
        default_status, default_msg = _status_and_message(code)
        self.counters.codes[code] += 1
        headers = [("content-type", JSON_TYPE), *(extra_headers or [])]
        return SimResponse(
            http_status or default_status, _error_body(code, msg or default_msg), headers
        )

    # ------------------------------------------------------------------ pipeline
    def _serve(self, request: Request) -> SimResponse:
        route_map = ROUTES.get(request.path)
        if route_map is None:
            return self._error("404000")
        route = route_map.get(request.method)
        if route is None:
            return self._error("405000")
        request.params = dict(query_pairs(request.query))
        if not route.private:
            pool = f"public:{request.client_ip}"
            limits = self._charge(pool, PUBLIC_QUOTA, route.weight)
            if limits is None:
                return self._rate_limited(pool, PUBLIC_QUOTA)
            return self._run(route, request, limits)
        try:
            self._authenticate(request, route)
        except ApiFailure as failure:
            # Failures before the key is known to be genuine are counted in the caller's public
            # pool (kutui.kucoin.ratelimit.PUBLIC_POOL_CODES, docs/kucoin.md).
            if request.user is None or answered_from_public_pool(failure.code):
                limits = self._peek(f"public:{request.client_ip}", PUBLIC_QUOTA)
            else:
                quota = management_quota(request.user.vip_level)
                limits = self._peek(f"management:{request.user.uid}", quota)
            headers = _limit_headers(*limits)
            return self._error(failure.code, failure.msg, failure.http_status, headers)
        except _FaultAnswer as answer:
            return answer.response
        user = request.authed_user()
        quota = management_quota(user.vip_level)
        pool = f"management:{user.uid}"
        limits = self._charge(pool, quota, route.weight)
        if limits is None:
            return self._rate_limited(pool, quota)
        return self._run(route, request, limits)

    def _run(self, route: Route, request: Request, limits: tuple[int, int, int]) -> SimResponse:
        headers = [("content-type", JSON_TYPE), *_limit_headers(*limits)]
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if not content_type.lower().startswith(JSON_TYPE):
                return self._error("415000", extra_headers=headers[1:])
        try:
            data = route.handler(self, request)
        except ApiFailure as failure:
            return self._error(failure.code, failure.msg, failure.http_status, headers[1:])
        self.counters.codes["200000"] += 1
        return SimResponse(200, _envelope(data), headers)

    def _rate_limited(self, pool: str, limit: int) -> SimResponse:
        self.counters.rate_limited += 1
        return self._error("429000", extra_headers=_limit_headers(*self._peek(pool, limit)))

    def _window(self, pool: str) -> list[int]:
        now = self.now_ms()
        window = self._quota.get(pool)
        if window is None or now - window[0] >= self.state.server.quota_window_ms:
            # The window starts at the first request after the previous one ran out.
            window = [now, 0]
            self._quota[pool] = window
        return window

    def _peek(self, pool: str, limit: int) -> tuple[int, int, int]:
        window = self._window(pool)
        reset = window[0] + self.state.server.quota_window_ms - self.now_ms()
        return limit, max(0, limit - window[1]), max(0, reset)

    def _charge(self, pool: str, limit: int, weight: int) -> tuple[int, int, int] | None:
        window = self._window(pool)
        if window[1] + weight > limit:
            return None
        window[1] += weight
        return self._peek(pool, limit)

    def _authenticate(self, request: Request, route: Route) -> None:
        h = request.headers
        for name in (signing.H_KEY, signing.H_SIGN, signing.H_TIMESTAMP, signing.H_PASSPHRASE):
            if not h.get(name.lower()):
                raise ApiFailure("400001")
        stamp = h[signing.H_TIMESTAMP.lower()]
        if not (stamp.isascii() and stamp.isdigit()):
            raise ApiFailure("400001")
        if abs(int(stamp) - self.now_ms()) >= TIMESTAMP_WINDOW_MS:
            raise ApiFailure("400002")
        key = self._keys.get(h[signing.H_KEY.lower()])
        if key is None or key.expired(self.now_ms()):
            raise ApiFailure("400003")
        sent_version = _passphrase_version(h.get(signing.H_VERSION.lower(), ""))
        if key.api_version in self.state.server.reject_versions:
            raise ApiFailure("400008")
        if not _same_passphrase(key, sent_version, h[signing.H_PASSPHRASE.lower()]):
            raise ApiFailure("400004")
        expected = signing.sign(
            key.api_secret,
            stamp,
            request.method,
            request.path,
            signed_query(request.query),
            request.body.decode("utf-8", errors="replace"),
        )
        if not _same_text(expected, h[signing.H_SIGN.lower()]):
            raise ApiFailure("400005")
        user = self._users[key.uid]
        request.user, request.key = user, key
        if user.fault:
            raise _FaultAnswer(self._fault_response(user.fault, user))
        if user.frozen:
            raise ApiFailure("411100")
        if key.ip_whitelist and not _ip_allowed(request.client_ip, key.ip_whitelist):
            text = _status_and_message("400006")[1]
            raise ApiFailure("400006", text.format(ip=request.client_ip))
        if route.permission not in key.permissions:
            raise ApiFailure("400007")
        if route.master_only and not user.is_master:
            raise ApiFailure("400010")


def _passphrase_version(header: str) -> int:
    """How the passphrase was sent, from ``KC-API-KEY-VERSION``: 1 in clear, 2/3 HMAC'd.

    "2" and "3" are interchangeable (docs/kucoin.md, "Key version header"); "1" or no header
    means a plaintext passphrase; anything else is 400009.
    """
    value = header.strip()
    if not value:
        return 1
    if value not in ("1", "2", "3"):
        raise ApiFailure("400009")
    return int(value)


def _same_passphrase(key: SimKey, sent_version: int, sent: str) -> bool:
    """A V1 key takes only its plaintext passphrase, a V2/V3 key only the HMAC'd one."""
    if (sent_version == 1) != (key.api_version == 1):
        return False
    wanted = signing.passphrase_value(key.api_secret, key.passphrase, key.api_version)
    return _same_text(wanted, sent)


def _same_text(wanted: str, sent: str) -> bool:
    """Constant-time comparison of any header text (non-ASCII included: never a TypeError)."""
    return hmac.compare_digest(
        wanted.encode("utf-8", "surrogatepass"), sent.encode("utf-8", "surrogatepass")
    )


def _decoded_pairs(query: str) -> list[tuple[str, str, str]]:
    """Each ``k=v`` of the raw query as (key, "=" or "", value), decoded as forms are:
    ``%XX`` escapes and ``+`` as a space (what urlencode-based clients send for a space)."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, eq, value = part.partition("=")
            pairs.append((unquote_plus(name), eq, unquote_plus(value)))
    return pairs


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The parameters a handler reads; decoded exactly as ``signed_query`` decodes them."""
    return [(name, value) for name, _eq, value in _decoded_pairs(query)]


def signed_query(query: str) -> str:
    """The unencoded query KuCoin verifies the signature over, from the same decoded pairs."""
    return "&".join(f"{name}{eq}{value}" for name, eq, value in _decoded_pairs(query))


class _FaultAnswer(Exception):
    def __init__(self, response: SimResponse) -> None:
        super().__init__("fault")
        self.response = response


def _limit_headers(limit: int, remaining: int, reset_ms: int) -> list[tuple[str, str]]:
    return [
        ("gw-ratelimit-limit", str(limit)),
        ("gw-ratelimit-remaining", str(remaining)),
        ("gw-ratelimit-reset", str(reset_ms)),
    ]


def _ip_allowed(client_ip: str, whitelist: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for entry in whitelist:
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


# ---------------------------------------------------------------------- endpoint handlers


def _key_view(ex: Exchange, key: SimKey, *, with_sub: bool) -> dict[str, object]:
    user = ex.user(key.uid)
    data: dict[str, object] = {
        "remark": key.remark,
        "apiKey": key.api_key,
        "apiVersion": key.api_version,
        "permission": key.permission,
        "createdAt": key.created_at,
        "uid": key.uid,
        "isMaster": user.is_master,
    }
    if key.ip_whitelist:
        data["ipWhitelist"] = mask_whitelist(key.ip_whitelist)
    if with_sub or not user.is_master:
        data["subName"] = user.sub_name
    return data


def h_timestamp(ex: Exchange, request: Request) -> object:
    return ex.now_ms()


def h_status(ex: Exchange, request: Request) -> object:
    return {"status": "open", "msg": ""}


def h_api_key(ex: Exchange, request: Request) -> object:
    key = request.authed_key()
    return _key_view(ex, key, with_sub=False)


def _max_subs(vip_level: int) -> int:
    return 5 if vip_level <= 3 else 10 + 5 * (vip_level - 4)


def h_user_info(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    subs = ex.subs_of(user.uid) if user.is_master else []
    most = _max_subs(user.vip_level) if user.is_master else 0
    return {
        "level": user.vip_level,
        "subQuantity": len(subs),
        "spotSubQuantity": len(subs),
        "marginSubQuantity": 0,
        "futuresSubQuantity": 0,
        "optionSubQuantity": 0,
        "maxSubQuantity": most,
        "maxDefaultSubQuantity": most,
        "maxSpotSubQuantity": 0,
        "maxMarginSubQuantity": most,
        "maxFuturesSubQuantity": most,
        "maxOptionSubQuantity": most,
    }


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiFailure("400100", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiFailure("400100", f"{name} must be between {low} and {high}")
    return value


def _sub_user_v1(user: SimUser) -> dict[str, object]:
    """The fields of the deprecated V1 list (api-3470298); V2 adds status, dates and types."""
    return {
        "userId": f"{user.uid:024x}",
        "uid": user.uid,
        "subName": user.sub_name,
        "type": 0,
        "remarks": user.remarks,
        "access": "All",
    }


def h_sub_users_v1(ex: Exchange, request: Request) -> object:
    return [_sub_user_v1(u) for u in ex.subs_of(request.authed_user().uid)]


def h_sub_users(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    page = _int_param(request, "currentPage", 1, 1, 1_000_000)
    size = _int_param(request, "pageSize", 10, 1, 100)
    subs = ex.subs_of(user.uid)
    start = (page - 1) * size
    items = [
        {
            **_sub_user_v1(u),
            "status": 3 if u.frozen else 2,
            "createdAt": u.created_at,
            "tradeTypes": ["Spot", "Futures", "Margin"],
            "openedTradeTypes": ["Spot"],
            "hostedStatus": None,
        }
        for u in subs[start : start + size]
    ]
    return {
        "currentPage": page,
        "pageSize": size,
        "totalNum": len(subs),
        "totalPage": math.ceil(len(subs) / size),
        "items": items,
    }


def _sub_of(ex: Exchange, master: SimUser, sub_name: object) -> SimUser:
    if not isinstance(sub_name, str) or not sub_name:
        raise ApiFailure("400100", "subName is required")
    for user in ex.subs_of(master.uid):
        if user.sub_name == sub_name:
            return user
    raise ApiFailure("400100", "Sub-account does not exist")


def _sub_key(ex: Exchange, sub: SimUser, api_key: object, passphrase: object) -> SimKey:
    if not isinstance(api_key, str) or not api_key:
        raise ApiFailure("400100", "apiKey is required")
    if not isinstance(passphrase, str) or not passphrase:
        raise ApiFailure("400100", "passphrase is required")
    key = ex.key(api_key)
    if key is None or key.uid != sub.uid or key.expired(ex.now_ms()):
        raise ApiFailure("400100", "API key does not exist")
    if not hmac.compare_digest(key.passphrase.encode(), passphrase.encode()):
        raise ApiFailure("400100", "Invalid passphrase of the API key")
    return key


def h_sub_keys(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    sub = _sub_of(ex, user, request.params.get("subName"))
    wanted = request.params.get("apiKey")
    return [
        _key_view(ex, k, with_sub=True)
        for k in ex.keys_of(sub.uid)
        if not wanted or k.api_key == wanted
    ]


def _permission(value: object) -> str:
    if value is None or value == "":
        return "General"
    if not isinstance(value, str):
        raise ApiFailure("400100", "permission must be a string")
    names = [p.strip() for p in value.split(",") if p.strip()]
    bad = [n for n in names if n not in SUB_KEY_PERMISSIONS]
    if bad:
        raise ApiFailure("400100", f"Only {', '.join(SUB_KEY_PERMISSIONS)} permissions can be set")
    if "General" not in names:
        names.insert(0, "General")
    return ",".join(dict.fromkeys(names))


def _whitelist(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise ApiFailure("400100", "ipWhitelist must be a comma-separated string")
    entries = tuple(e.strip() for e in value.split(",") if e.strip())
    if len(entries) > 20:
        raise ApiFailure("400100", "ipWhitelist accepts up to 20 IPs")
    for entry in entries:
        if ip_entry_problem(entry):
            raise ApiFailure("400100", "ipWhitelist holds an invalid IP")
    return entries


def _expire(value: object) -> int:
    if value is None:
        return -1
    text = str(value)
    if text not in EXPIRE_VALUES:
        raise ApiFailure("400100", f"expire must be one of {', '.join(EXPIRE_VALUES)}")
    return int(text)


def _passphrase(value: object) -> str:
    if not isinstance(value, str) or not 7 <= len(value) <= 32 or any(c.isspace() for c in value):
        raise ApiFailure("400100", "passphrase must contain 7-32 characters and no spaces")
    return value


def h_create_sub_key(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    body = request.json()
    sub = _sub_of(ex, user, body.get("subName"))
    passphrase = _passphrase(body.get("passphrase"))
    remark = body.get("remark")
    if not isinstance(remark, str) or not 1 <= len(remark) <= 24:
        raise ApiFailure("400100", "remark must contain 1-24 characters")
    key = ex.add_key(
        sub.uid,
        passphrase=passphrase,
        permission=_permission(body.get("permission")),
        ip_whitelist=_whitelist(body.get("ipWhitelist")),
        remark=remark,
        expire_days=_expire(body.get("expire")),
    )
    return {
        "subName": sub.sub_name,
        "remark": key.remark,
        "apiKey": key.api_key,
        "apiSecret": key.api_secret,
        "apiVersion": key.api_version,
        "passphrase": key.passphrase,
        "permission": key.permission,
        "ipWhitelist": ",".join(key.ip_whitelist),
        "createdAt": key.created_at,
    }


def h_update_sub_key(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    body = request.json()
    sub = _sub_of(ex, user, body.get("subName"))
    key = _sub_key(ex, sub, body.get("apiKey"), body.get("passphrase"))
    # KuCoin: "If modified, permissions will be reset" / "the IP will be reset".
    if "permission" in body:
        key.permission = _permission(body.get("permission"))
    if "ipWhitelist" in body:
        key.ip_whitelist = _whitelist(body.get("ipWhitelist"))
    if "expire" in body:
        key.expire_days = _expire(body.get("expire"))
    return {
        "subName": sub.sub_name,
        "apiKey": key.api_key,
        "permission": key.permission,
        "ipWhitelist": ",".join(key.ip_whitelist),
    }


def h_delete_sub_key(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    params = request.params
    sub = _sub_of(ex, user, params.get("subName"))
    key = _sub_key(ex, sub, params.get("apiKey"), params.get("passphrase"))
    ex.remove_key(key.api_key)
    return {"subName": sub.sub_name, "apiKey": key.api_key}


def h_accounts(ex: Exchange, request: Request) -> object:
    user = request.authed_user()
    uid = user.uid
    rows = [
        {"id": f"{uid:x}01", "currency": "USDT", "type": "main", "balance": "0",
         "available": "0", "holds": "0"},
        {"id": f"{uid:x}02", "currency": "BTC", "type": "trade", "balance": "0",
         "available": "0", "holds": "0"},
    ]  # fmt: skip
    currency = request.params.get("currency")
    kind = request.params.get("type")
    return [
        r
        for r in rows
        if (not currency or r["currency"] == currency) and (not kind or r["type"] == kind)
    ]


ROUTES: dict[str, dict[str, Route]] = {
    "/api/v1/timestamp": {"GET": Route(h_timestamp, 3, private=False)},
    "/api/v1/status": {"GET": Route(h_status, 3, private=False)},
    "/api/v1/user/api-key": {"GET": Route(h_api_key, 20)},
    "/api/v2/user-info": {"GET": Route(h_user_info, 20)},
    "/api/v1/accounts": {"GET": Route(h_accounts, 5)},
    "/api/v1/sub/user": {"GET": Route(h_sub_users_v1, 20, master_only=True)},  # deprecated
    "/api/v2/sub/user": {"GET": Route(h_sub_users, 20, master_only=True)},
    "/api/v1/sub/api-key": {
        "GET": Route(h_sub_keys, 20, master_only=True),
        "POST": Route(h_create_sub_key, 20, master_only=True),
        "DELETE": Route(h_delete_sub_key, 30, master_only=True),
    },
    "/api/v1/sub/api-key/update": {"POST": Route(h_update_sub_key, 30, master_only=True)},
}
