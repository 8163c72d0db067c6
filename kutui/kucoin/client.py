"""The async KuCoin client: signed requests, clock offset, retries and classification.

One ``KucoinClient`` per API URL (``ClientPool`` hands them out). It spreads requests over a few
``httpx.AsyncHTTPTransport`` shards: on a 2-core host one pool with 64 connections spent several
times more CPU per request at high concurrency than 8 pools of 8 connections (httpcore's pool
scan is linear in connections under its lock); ``bench/client.py`` measures both. Each request
goes to the least busy shard, so none queues behind a full shard while another has idle
connections, and httpcore's idle-connection test is made cheap (``kutui.kucoin.netstream``).
Requests go to the transport directly rather than through ``httpx.AsyncClient``: the client's
per-request machinery (URL merging, cookies, auth and redirect flows, mounts) cost about a third
of the CPU of a signed check and kutui uses none of it. Proxies from the environment
(``HTTPS_PROXY``, ``NO_PROXY``...) are still honoured, through the standard library's reading of
them.

Every answer is classified by ``kutui.kucoin.diagnosis`` (body code first, then HTTP status) and
every failure is raised as ``KucoinApiError`` (a ``KucoinError``) with ``status``, ``code``,
``http_status`` and a message without secrets. Policy:

- the clock offset is learned from ``GET /api/v1/timestamp`` (lazily before the first signed
  request) and applied to every ``KC-API-TIMESTAMP``; a ``400002`` triggers one re-sync and one
  retry of the same request, then reports ``clock_skew`` with the offset;
- GETs are retried (``max_retries``) on 429 after the wait the ``gw-ratelimit-reset`` header gives
  (capped by ``max_rate_wait``: a longer wait is reported at once as ``rate_limited``), and with
  exponential backoff on 5xx, non-JSON answers and timeouts/connection errors;
- POST and DELETE are never retried (a create whose answer was lost must be found again by
  listing keys), except the 400002 re-sign: the gateway rejected that request before acting;
- URLs are built here from ordered pairs so the signed query is the sent query; nothing here logs
  headers or query strings (the DELETE query carries a passphrase).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from kutui.clock import current
from kutui.errors import KucoinError, UsageError
from kutui.kucoin import netstream, signing
from kutui.kucoin.diagnosis import Diagnosis, KucoinApiError, classify
from kutui.kucoin.ratelimit import RateLimit, answered_from_public_pool
from kutui.model import (
    EXPIRE_CHOICES,
    Credential,
    Status,
    api_key_problem,
    passphrase_problem,
    secret_problem,
)
from kutui.redact import install_log_redaction, redact
from kutui.secret import Secret
from kutui.text import MESSAGE_LIMIT, clean_text

__all__ = [
    "ClientPool",
    "CreatedKey",
    "KeyInfo",
    "KucoinApiError",
    "KucoinClient",
    "RateLimit",
    "Response",
    "SubAccountInfo",
]

log = logging.getLogger("kutui.kucoin")

#: Pool shape, chosen by bench/client.py on a 2-core host (see the module docstring).
DEFAULT_SHARDS = 8
DEFAULT_CONNECTIONS_PER_SHARD = 8
USER_AGENT = "kutui/0.1"
SUB_PAGE_SIZE = 100
#: No KuCoin answer kutui reads is near this size (a page of 100 sub-accounts is ~30 KiB); a
#: larger body is refused while it is read, so a hostile or broken server cannot fill memory.
MAX_BODY_BYTES = 1024 * 1024
#: Outside text kept from an answer (remarks, names, whitelists): enough for KuCoin's own limits
#: (remark 24, 20 IPs), small enough that accounts.toml cannot grow by megabytes per key.
FIELD_LIMIT = 512
#: createdAt and uid bounds: milliseconds before year 10000 (a datetime can hold it) and a
#: 63-bit id; an answer outside them is malformed, not a date in the far future.
MAX_TIME_MS = 253_402_300_799_999
MAX_ID = 2**63 - 1


class _AnswerTooLarge(Exception):
    """The body passed ``MAX_BODY_BYTES`` while it was read."""


@dataclass(frozen=True)
class KeyInfo:
    """`GET /api/v1/user/api-key` data (also one row of `GET /api/v1/sub/api-key`)."""

    api_key: str = field(repr=False)  # the full key: shown only as a fingerprint
    remark: str
    api_version: int
    permissions: tuple[str, ...]
    ip_whitelist: str
    created_at_ms: int
    uid: int
    is_master: bool
    sub_name: str


@dataclass(frozen=True)
class Response:
    http_status: int
    code: str
    data: object
    rate_limit: RateLimit
    latency_ms: float


@dataclass(frozen=True)
class SubAccountInfo:
    user_id: str
    uid: int
    sub_name: str
    status: int  # 2 enabled, 3 frozen
    remarks: str
    created_at_ms: int


@dataclass(frozen=True)
class CreatedKey:
    """`POST /api/v1/sub/api-key` answer: the only moment the secret is seen. Save it at once."""

    sub_name: str
    remark: str
    api_key: Secret
    api_secret: Secret
    passphrase: Secret
    api_version: int
    permissions: tuple[str, ...]
    ip_whitelist: str
    created_at_ms: int


_NO_LIMIT = RateLimit(None, None, None)
#: What reading a malformed answer raises (missing fields, wrong types, numbers out of range).
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def _text(data: dict[str, object], name: str, default: str = "") -> str:
    """A text field of an answer, cleaned for storage and display; a wrong type is malformed."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{name} is not text")
    return clean_text(str(value), limit=FIELD_LIMIT)


def _integer(data: dict[str, object], name: str, default: int = 0, *, high: int = MAX_ID) -> int:
    """A whole number in 0..``high`` (KuCoin sends some as strings); anything else is malformed."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{name} is not a number from 0 to {high}")
    return value


def _flag(data: dict[str, object], name: str) -> bool:
    """A yes/no field: JSON true/false, or the words (``bool("false")`` would read as yes)."""
    value = data.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"{name} is not true or false")


def _permissions(data: dict[str, object]) -> tuple[str, ...]:
    return tuple(p.strip() for p in _text(data, "permission").split(",") if p.strip())


def _required_text(data: dict[str, object], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not text")
    return value


def _pool_of(cred: Credential) -> str:
    # A digest, not the key: budgets may be shown or logged by callers.
    return "key:" + hashlib.sha256(cred.api_key.reveal().encode()).hexdigest()[:16]


class KucoinClient:
    """Async client for one API URL (pooled httpx clients, clock offset, classification).

    Raises ``kutui.errors.KucoinError`` (``.status`` = a ``Status`` value) for every failure.
    ``transport`` lets tests and the demo route to the in-process simulator.
    """

    def __init__(
        self,
        api_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        shards: int = DEFAULT_SHARDS,
        connections_per_shard: int = DEFAULT_CONNECTIONS_PER_SHARD,
        max_retries: int = 2,
        max_rate_wait: float = 60.0,
        backoff: float = 0.25,
        auto_sync: bool = True,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        install_log_redaction()
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_rate_wait = max_rate_wait
        self.backoff = backoff
        self.auto_sync = auto_sync
        self.clock_offset_ms: int = 0
        self.clock_synced = False
        self._clock: Callable[[], float] = clock or current().ms
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._transport = transport
        # A custom transport is shared by every shard, so one client is enough.
        self._shard_count = 1 if transport is not None else max(1, shards)
        self._per_shard = max(1, connections_per_shard)
        self._pools: list[httpx.AsyncBaseTransport] = []
        self._timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0)).as_dict()
        self._busy: list[int] = []  # requests in flight per shard (see _pool)
        self._urls: dict[str, httpx.URL] = {}  # path -> parsed URL (see _url)
        self._sync_lock: asyncio.Lock | None = None
        self._sync_generation = 0
        self._budgets: dict[str, RateLimit] = {}
        self._uid_of: dict[str, int] = {}  # key pool -> uid, learned from key info
        self._closed = False

    # ------------------------------------------------------------------ plumbing
    def _pool(self) -> tuple[httpx.AsyncBaseTransport, int]:
        """The transport for the next request and its shard (-1: the injected transport)."""
        if self._closed:
            raise KucoinError("the KuCoin client is closed", status=Status.UNREACHABLE.value)
        if self._transport is not None:
            return self._transport, -1
        if not self._pools:
            limits = httpx.Limits(
                max_connections=self._per_shard, max_keepalive_connections=self._per_shard
            )
            proxy = _environment_proxy(self.api_url)
            # One TLS context for every shard: each loads the CA bundle (~30 ms), and a
            # one-key check would pay it once per shard otherwise (bench/yardstick.py).
            tls = httpx.create_ssl_context()
            shards = [
                httpx.AsyncHTTPTransport(verify=tls, limits=limits, proxy=proxy)
                for _ in range(self._shard_count)
            ]
            for each in shards:
                # A cheaper idle-connection test for httpcore's pool (kutui/kucoin/netstream.py).
                netstream.install(each)
            self._pools = list(shards)
            self._busy = [0] * len(shards)
        # The least busy shard, not the next in turn: requests queued behind a full shard while
        # another has idle connections cost httpcore a scan of every connection per queued
        # request each time a connection frees (its pool is linear in both).
        busy = self._busy
        shard = busy.index(min(busy))
        return self._pools[shard], shard

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of a path without a query, parsed once per client: httpx parses a text
        URL on every request. Never with a query: a DELETE's query holds a passphrase."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= 64:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self.api_url + path)
        return url

    async def _exchange(
        self, method: str, url: str | httpx.URL, body: str, headers: dict[str, str]
    ) -> tuple[int, httpx.Headers, bytes]:
        request = httpx.Request(
            method,
            url,
            content=body.encode() if body else None,
            headers=headers,
            extensions={"timeout": self._timeouts},
        )
        transport, shard = self._pool()
        busy = self._busy
        if shard >= 0:
            busy[shard] += 1  # from the request to its answer's close, as the shard's pool holds it
        try:
            reply = await transport.handle_async_request(request)
            try:
                content = await _read_capped(reply)
            finally:
                await reply.aclose()
        finally:
            if shard >= 0:
                busy[shard] -= 1
        return reply.status_code, reply.headers, content

    async def aclose(self) -> None:
        """Close the pools this client opened; an injected transport belongs to its owner."""
        self._closed = True
        pools, self._pools = self._pools, []
        for pool in pools:
            await pool.aclose()

    def _now_ms(self) -> int:
        return int(self._clock()) + self.clock_offset_ms

    def _pool_id(self, cred: Credential | None) -> str:
        if cred is None:
            return "public"
        pool = _pool_of(cred)
        uid = self._uid_of.get(pool)
        return f"uid:{uid}" if uid is not None else pool

    def rate_limit_for(self, cred: Credential) -> RateLimit | None:
        """The last `gw-ratelimit-*` budget seen for this key's uid pool."""
        return self._budgets.get(self._pool_id(cred))

    def rate_limit_for_uid(self, uid: int) -> RateLimit | None:
        return self._budgets.get(f"uid:{uid}")

    @property
    def public_rate_limit(self) -> RateLimit | None:
        return self._budgets.get("public")

    def _learn_uid(self, cred: Credential, uid: int) -> None:
        pool = _pool_of(cred)
        self._uid_of[pool] = uid
        if pool in self._budgets:
            self._budgets[f"uid:{uid}"] = self._budgets.pop(pool)

    # ------------------------------------------------------------------ one request
    async def _send_once(
        self,
        method: str,
        path: str,
        query_raw: str,
        url: str | httpx.URL,
        body: str,
        cred: Credential | None,
    ) -> tuple[Diagnosis, RateLimit, float]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if cred is not None:
            headers.update(
                signing.auth_headers(
                    cred,
                    timestamp_ms=self._now_ms(),
                    method=method,
                    path=path,
                    query=query_raw,
                    body=body,
                )
            )
        started = time.perf_counter()
        try:
            # httpx's timeouts are per read: a server sending one byte a second never trips
            # them. The deadline bounds the whole exchange, connect to last byte.
            async with asyncio.timeout(self.timeout):
                http_status, reply_headers, content = await self._exchange(
                    method, url, body, headers
                )
        except TimeoutError:
            latency = (time.perf_counter() - started) * 1000.0
            what = f"no complete answer within {self.timeout:g} s"
            return Diagnosis(Status.UNREACHABLE, "", 0, what), _NO_LIMIT, latency
        except _AnswerTooLarge:
            latency = (time.perf_counter() - started) * 1000.0
            what = f"an answer larger than {MAX_BODY_BYTES // 1024} KiB (not read further)"
            return Diagnosis(Status.UNREACHABLE, "", 0, what), _NO_LIMIT, latency
        except UnicodeEncodeError:
            # A stored passphrase httpx cannot put in a header (a V1 key's goes in clear).
            # The exception's text quotes the value: only its kind is reported.
            latency = (time.perf_counter() - started) * 1000.0
            what = "a stored credential cannot be sent (it is not ASCII): re-enter the key"
            return Diagnosis(Status.BAD_PASSPHRASE, "", 0, what), _NO_LIMIT, latency
        except httpx.LocalProtocolError:
            latency = (time.perf_counter() - started) * 1000.0
            what = "a stored credential cannot be sent (it holds a character a header cannot)"
            return Diagnosis(Status.BAD_PASSPHRASE, "", 0, what), _NO_LIMIT, latency
        except httpx.TimeoutException as exc:
            latency = (time.perf_counter() - started) * 1000.0
            what = f"no answer within {self.timeout:g} s ({type(exc).__name__})"
            return Diagnosis(Status.UNREACHABLE, "", 0, what), _NO_LIMIT, latency
        except httpx.HTTPError as exc:
            # str(exc) of a connection error names the host, never the query or headers.
            latency = (time.perf_counter() - started) * 1000.0
            what = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            what = clean_text(what, limit=MESSAGE_LIMIT)
            return Diagnosis(Status.UNREACHABLE, "", 0, what), _NO_LIMIT, latency
        finally:
            del headers  # the signed headers must not outlive the call
        latency = (time.perf_counter() - started) * 1000.0
        diagnosis = classify(http_status, content)
        limit = RateLimit.from_headers(reply_headers, time.monotonic())
        if limit is not None:
            # A failed-auth answer reports the caller's public pool, not the key's.
            public = cred is None or answered_from_public_pool(diagnosis.code)
            self._budgets["public" if public else self._pool_id(cred)] = limit
        log.debug("%s %s -> HTTP %s in %.0f ms", method, path, http_status, latency)
        return diagnosis, limit or _NO_LIMIT, latency

    def _retry_wait(self, diagnosis: Diagnosis, limit: RateLimit, attempt: int) -> float | None:
        """Seconds to wait before retrying a GET, or None when it must not be retried."""
        if attempt >= self.max_retries:
            return None
        if diagnosis.status is Status.RATE_LIMITED:
            if limit.reset_ms is None:
                return self.backoff * (1 << attempt)
            wait = limit.reset_ms / 1000.0 + 0.05  # a little past the reset
            return wait if wait <= self.max_rate_wait else None
        transient = diagnosis.http_status == 0 or diagnosis.http_status >= 500 or not diagnosis.code
        if diagnosis.status is Status.UNREACHABLE and transient:
            return self.backoff * (1 << attempt) * (1.0 + random.random() / 2)  # noqa: S311 (jitter, not crypto)  # nosec B311
        return None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: dict[str, object] | None = None,
        cred: Credential | None = None,
        retry: bool | None = None,
        what: str = "",
    ) -> Response:
        """One KuCoin call; returns the success envelope or raises ``KucoinApiError``."""
        method = method.upper()
        retry = method == "GET" if retry is None else retry
        query_raw = signing.raw_query(params)
        url = (
            self._url(path)
            if not params
            else f"{self.api_url}{path}?{signing.encoded_query(params)}"
        )
        body_text = signing.compact_json(body) if body is not None else ""
        what = what or f"{method} {path}"
        if cred is not None and self.auto_sync and not self.clock_synced:
            await self._sync_quietly()
        resynced = False
        attempt = 0
        while True:
            generation = self._sync_generation
            diagnosis, limit, latency = await self._send_once(
                method, path, query_raw, url, body_text, cred
            )
            if diagnosis.ok:
                return Response(
                    diagnosis.http_status, diagnosis.code, diagnosis.data, limit, latency
                )
            if diagnosis.status is Status.CLOCK_SKEW and cred is not None and not resynced:
                resynced = True
                await self._resync(generation)
                continue
            wait = self._retry_wait(diagnosis, limit, attempt) if retry else None
            if wait is None:
                raise KucoinApiError(
                    diagnosis,
                    what=what,
                    clock_offset_ms=self.clock_offset_ms,
                    rate_limit_reset_ms=limit.reset_ms,
                    latency_ms=latency,
                )
            attempt += 1
            log.debug("%s: %s, retrying in %.2f s", what, diagnosis.status.value, wait)
            await self._sleep(wait)

    # ------------------------------------------------------------------ clock
    async def server_time(self) -> int:
        reply = await self.request("GET", "/api/v1/timestamp", what="reading KuCoin's clock")
        data = reply.data
        if isinstance(data, bool) or not isinstance(data, int) or not 0 < data <= MAX_TIME_MS:
            raise self._bad_answer("reading KuCoin's clock", reply)
        return data

    async def sync_clock(self) -> int:
        """Learn ``clock_offset_ms`` (server minus host, at the request's midpoint)."""
        before = self._clock()
        server = await self.server_time()
        after = self._clock()
        self.clock_offset_ms = int(server - (before + after) / 2)
        self.clock_synced = True
        self._sync_generation += 1
        if abs(self.clock_offset_ms) >= 1000:
            log.info("host clock is %d ms off KuCoin's; compensating", self.clock_offset_ms)
        return self.clock_offset_ms

    def _lock(self) -> asyncio.Lock:
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        return self._sync_lock

    async def _resync(self, seen_generation: int) -> None:
        """Re-sync unless another request already did since ``seen_generation``."""
        async with self._lock():
            if self._sync_generation != seen_generation:
                return
            try:
                await self.sync_clock()
            except KucoinError:
                self._sync_generation += 1  # retried with the old offset; 400002 then reports

    async def _sync_quietly(self) -> None:
        async with self._lock():
            if self.clock_synced:
                return
            try:
                await self.sync_clock()
            except KucoinError:
                # Unreachable now: the signed call will say so; a 400002 re-syncs later.
                self.clock_synced = True

    # ------------------------------------------------------------------ helpers
    def _bad_answer(self, what: str, reply: Response, problem: str = "") -> KucoinApiError:
        said = f"a malformed answer: {problem}" if problem else "a malformed answer"
        diagnosis = Diagnosis(Status.UNREACHABLE, reply.code, reply.http_status, said)
        return KucoinApiError(diagnosis, what=what, latency_ms=reply.latency_ms)

    @staticmethod
    def _key_info(data: object) -> KeyInfo:
        if not isinstance(data, dict):
            raise TypeError("key info is not an object")
        api_key = _required_text(data, "apiKey")
        # Only its fingerprint is kept, but a key full of escapes would reach the screen.
        if api_key_problem(api_key):
            raise ValueError("apiKey is not a KuCoin API key")
        return KeyInfo(
            api_key=api_key,
            remark=_text(data, "remark"),
            api_version=_integer(data, "apiVersion", high=9),
            permissions=_permissions(data),
            ip_whitelist=_text(data, "ipWhitelist"),
            created_at_ms=_integer(data, "createdAt", high=MAX_TIME_MS),
            uid=_integer(data, "uid"),
            is_master=_flag(data, "isMaster"),
            sub_name=_text(data, "subName"),
        )

    # ------------------------------------------------------------------ endpoints
    async def api_key_info(self, cred: Credential) -> KeyInfo:
        what = "checking the key"
        reply = await self.request("GET", "/api/v1/user/api-key", cred=cred, what=what)
        try:
            info = self._key_info(reply.data)
        except _MALFORMED:
            raise self._bad_answer(what, reply) from None
        if info.uid:
            self._learn_uid(cred, info.uid)
        return info

    async def user_info(self, cred: Credential) -> dict[str, object]:
        what = "reading the account summary"
        reply = await self.request("GET", "/api/v2/user-info", cred=cred, what=what)
        if not isinstance(reply.data, dict):
            raise self._bad_answer(what, reply)
        return reply.data

    async def accounts(self, cred: Credential) -> list[dict[str, object]]:
        what = "listing balances"
        reply = await self.request("GET", "/api/v1/accounts", cred=cred, what=what)
        if not isinstance(reply.data, list):
            raise self._bad_answer(what, reply)
        return [row for row in reply.data if isinstance(row, dict)]

    async def sub_accounts(self, cred: Credential) -> list[SubAccountInfo]:
        """Every sub-account, all pages of `GET /api/v2/sub/user`."""
        what = "listing sub-accounts"
        found: list[SubAccountInfo] = []
        page = 1
        while True:
            params = [("currentPage", str(page)), ("pageSize", str(SUB_PAGE_SIZE))]
            reply = await self.request(
                "GET", "/api/v2/sub/user", params=params, cred=cred, what=what
            )
            data = reply.data
            try:
                if not isinstance(data, dict):
                    raise TypeError("not an object")
                items = data["items"]
                if not isinstance(items, list):
                    raise TypeError("items is not a list")
                for item in items:
                    if not isinstance(item, dict):
                        raise TypeError("a sub-account is not an object")
                    found.append(
                        SubAccountInfo(
                            user_id=_text(item, "userId"),
                            uid=_integer(item, "uid", default=-1),
                            # A name is matched whole (kutui.model.valid_name), never cleaned.
                            sub_name=_required_text(item, "subName"),
                            status=_integer(item, "status", high=99),
                            remarks=_text(item, "remarks"),
                            created_at_ms=_integer(item, "createdAt", high=MAX_TIME_MS),
                        )
                    )
                    if found[-1].uid < 0:
                        raise KeyError("uid")
                total_pages = _integer(data, "totalPage", high=1_000_000)
            except _MALFORMED:
                raise self._bad_answer(what, reply) from None
            if page >= total_pages or not items:
                return found
            page += 1

    async def sub_api_keys(
        self, cred: Credential, sub_name: str, api_key: str | None = None
    ) -> list[KeyInfo]:
        what = f"listing the keys of sub-account {sub_name}"
        params = [("subName", sub_name)] + ([("apiKey", api_key)] if api_key else [])
        reply = await self.request(
            "GET", "/api/v1/sub/api-key", params=params, cred=cred, what=what
        )
        if not isinstance(reply.data, list):
            raise self._bad_answer(what, reply)
        try:
            return [self._key_info(row) for row in reply.data]
        except _MALFORMED:
            raise self._bad_answer(what, reply) from None

    async def create_sub_api_key(
        self,
        cred: Credential,
        *,
        sub_name: str,
        passphrase: Secret,
        remark: str,
        permission: str = "General",
        ip_whitelist: str = "",
        expire: int = -1,
    ) -> CreatedKey:
        """Never retried: a lost answer is found again by listing keys and matching the remark."""
        problem = passphrase_problem(passphrase.reveal())
        if problem:
            raise UsageError(f"cannot create a key for {sub_name}: {problem}")
        if not 1 <= len(remark) <= 24:
            raise UsageError(
                f"cannot create a key for {sub_name}: the remark must be 1-24 characters"
            )
        if expire not in EXPIRE_CHOICES:
            raise UsageError(
                f"cannot create a key for {sub_name}: expiry must be one of {EXPIRE_CHOICES}"
            )
        body: dict[str, object] = {
            "subName": sub_name,
            "passphrase": passphrase.reveal(),
            "remark": remark,
            "permission": permission,
        }
        if ip_whitelist:
            body["ipWhitelist"] = ip_whitelist
        if expire != -1:
            body["expire"] = str(expire)
        what = f"creating a key for sub-account {sub_name}"
        reply = await self.request("POST", "/api/v1/sub/api-key", body=body, cred=cred, what=what)
        del body
        data = reply.data
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            new_key = Secret(_required_text(data, "apiKey"))
            new_secret = Secret(_required_text(data, "apiSecret"))
            # The vault must never hold a credential that cannot be written or sent; the
            # reason names the field, never the value.
            problem = api_key_problem(new_key.reveal()) or secret_problem(new_secret.reveal())
            if problem:
                raise ValueError(problem)
            return CreatedKey(
                sub_name=_text(data, "subName", sub_name),
                remark=_text(data, "remark", remark),
                api_key=new_key,
                api_secret=new_secret,
                passphrase=passphrase,
                api_version=_integer(data, "apiVersion", 3, high=9),
                permissions=_permissions(data),
                ip_whitelist=_text(data, "ipWhitelist"),
                created_at_ms=_integer(data, "createdAt", high=MAX_TIME_MS),
            )
        except _MALFORMED as exc:
            problem = str(exc) if isinstance(exc, ValueError) and "API" in str(exc) else ""
            raise self._bad_answer(what, reply, problem) from None

    async def update_sub_api_key(
        self,
        cred: Credential,
        *,
        sub_name: str,
        api_key: str,
        passphrase: Secret,
        permission: str | None = None,
        ip_whitelist: str | None = None,
        expire: int | None = None,
    ) -> dict[str, object]:
        body: dict[str, object] = {
            "subName": sub_name,
            "apiKey": api_key,
            "passphrase": passphrase.reveal(),
        }
        if permission is not None:
            body["permission"] = permission
        if ip_whitelist is not None:
            body["ipWhitelist"] = ip_whitelist
        if expire is not None:
            body["expire"] = str(expire)
        what = f"updating a key of sub-account {sub_name}"
        reply = await self.request(
            "POST", "/api/v1/sub/api-key/update", body=body, cred=cred, what=what
        )
        del body
        if not isinstance(reply.data, dict):
            raise self._bad_answer(what, reply)
        return reply.data

    async def delete_sub_api_key(
        self, cred: Credential, *, sub_name: str, api_key: str, passphrase: Secret
    ) -> None:
        params = [("apiKey", api_key), ("subName", sub_name), ("passphrase", passphrase.reveal())]
        what = f"deleting a key of sub-account {sub_name}"
        await self.request("DELETE", "/api/v1/sub/api-key", params=params, cred=cred, what=what)


class ClientPool:
    """One ``KucoinClient`` per API URL, shared by a whole run; close it once at the end.

    Extra keyword options (``max_retries``, ``shards``, ``clock``...) go to every client.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        **options: object,
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        self._options = options
        self._clients: dict[str, KucoinClient] = {}

    def get(self, api_url: str) -> KucoinClient:
        url = api_url.rstrip("/")
        client = self._clients.get(url)
        if client is None:
            client = KucoinClient(
                url,
                transport=self._transport,
                timeout=self._timeout,
                **self._options,  # type: ignore[arg-type]
            )
            self._clients[url] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


async def _read_capped(reply: httpx.Response) -> bytes:
    """The body, refused past ``MAX_BODY_BYTES`` as it arrives (also once decompressed)."""
    declared = reply.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _AnswerTooLarge
    try:
        raw = reply.content  # an in-process transport hands over a body already in memory
    except httpx.ResponseNotRead:
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.aiter_raw():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _AnswerTooLarge from None
            chunks.append(chunk)
        raw = b"".join(chunks)
    else:
        if len(raw) > MAX_BODY_BYTES:
            raise _AnswerTooLarge
        return raw  # already decoded by whoever built it
    encoding = reply.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "deflate"):
        # Bounded: a small compressed body may expand a thousandfold.
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        try:
            raw = inflate.decompress(raw, MAX_BODY_BYTES + 1)
        except zlib.error:
            return b""  # not KuCoin JSON: classified as such
        if len(raw) > MAX_BODY_BYTES:
            raise _AnswerTooLarge
    return raw


def _environment_proxy(api_url: str) -> str | None:
    """The proxy the environment names for ``api_url`` (``HTTPS_PROXY``, ``NO_PROXY``...)."""
    parts = urllib.parse.urlsplit(api_url)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)
