"""CONTRACT STUB — the kucoin helper replaces the bodies; signatures are fixed."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from kutui.secret import Secret
from kutui.store.vault import Credential


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_ms: int | None


@dataclass(frozen=True)
class KeyInfo:
    """`GET /api/v1/user/api-key` data."""

    api_key: str  # the key's own id: shown only as a fingerprint
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
    ) -> None: ...

    clock_offset_ms: int

    async def sync_clock(self) -> int: ...
    async def server_time(self) -> int: ...
    async def api_key_info(self, cred: Credential) -> KeyInfo: ...
    async def aclose(self) -> None: ...

    # ---- account and sub-account management (a master key with General permission)
    async def user_info(self, cred: Credential) -> dict[str, object]: ...

    async def sub_accounts(self, cred: Credential) -> list[SubAccountInfo]:
        """Every sub-account, all pages of `GET /api/v2/sub/user`."""
        ...

    async def sub_api_keys(
        self, cred: Credential, sub_name: str, api_key: str | None = None
    ) -> list[KeyInfo]: ...

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
        ...

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
    ) -> dict[str, object]: ...

    async def delete_sub_api_key(
        self, cred: Credential, *, sub_name: str, api_key: str, passphrase: Secret
    ) -> None: ...

    def rate_limit_for(self, cred: Credential) -> RateLimit | None:
        """The last `gw-ratelimit-*` budget seen for this key's uid pool."""
        ...


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


class ClientPool:
    """One ``KucoinClient`` per API URL, shared by a whole run; close it once at the end."""

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0
    ) -> None: ...

    def get(self, api_url: str) -> KucoinClient: ...

    async def aclose(self) -> None: ...
