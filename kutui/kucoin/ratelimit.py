"""KuCoin's ``gw-ratelimit-*`` budget (docs/kucoin.md, "Rate-limit headers")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Management-pool quota per 30 s by VIP level (docs/kucoin.md, "Rate-limit headers").
MANAGEMENT_QUOTA: tuple[int, ...] = (
    2000, 2000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000, 18000, 20000,
)  # fmt: skip
PUBLIC_QUOTA = 2000

#: Answers given before the key is proved genuine (missing header, timestamp, unknown key, version,
# passphrase, signature): their ``gw-ratelimit-*`` headers are the caller's public pool, not the
# key's Management pool (docs/kucoin.md, "Rate-limit headers").
PUBLIC_POOL_CODES = frozenset(
    {"400001", "400002", "400003", "400004", "400005", "400008", "400009"}
)


def answered_from_public_pool(code: str) -> bool:
    """Whether an answer with this body code counted against the public pool."""
    return code in PUBLIC_POOL_CODES


def management_quota(vip_level: int) -> int:
    return MANAGEMENT_QUOTA[max(0, min(vip_level, len(MANAGEMENT_QUOTA) - 1))]


@dataclass(frozen=True)
class RateLimit:
    """The last budget KuCoin reported for one pool; ``reset_ms`` counts from ``seen_at``."""

    limit: int | None
    remaining: int | None
    reset_ms: int | None
    seen_at: float = 0.0  # time.monotonic() when read

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], seen_at: float = 0.0) -> RateLimit | None:
        """None when the response carries no ``gw-ratelimit-*`` header at all."""
        values = [
            _int(headers.get(f"gw-ratelimit-{name}")) for name in ("limit", "remaining", "reset")
        ]
        if all(v is None for v in values):
            return None
        return cls(values[0], values[1], values[2], seen_at)

    def reset_in_ms(self, now: float) -> int | None:
        """Milliseconds still to wait from ``now`` (monotonic), never negative."""
        if self.reset_ms is None:
            return None
        return max(0, self.reset_ms - int((now - self.seen_at) * 1000))


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
