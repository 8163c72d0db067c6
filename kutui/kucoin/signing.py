"""KuCoin request signing (docs/kucoin.md, "Signing"): pure functions, no I/O.

prehash = timestamp (ms) + METHOD + path [+ "?" + query, *unencoded*, in the order sent] + body
(compact JSON, the exact text sent). The signature and the V2/V3 passphrase are
base64(HMAC-SHA256(secret, ...)); a V1 key sends its passphrase in clear.

The query is built once from ordered pairs: ``raw_query`` is what gets signed and
``encoded_query`` is what goes on the wire, so the two can never disagree in order or content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from urllib.parse import quote

from kutui.model import Credential

QueryPairs = Sequence[tuple[str, str]]

#: Header names, as KuCoin spells them.
H_KEY = "KC-API-KEY"
H_SIGN = "KC-API-SIGN"
H_TIMESTAMP = "KC-API-TIMESTAMP"
H_PASSPHRASE = "KC-API-PASSPHRASE"  # noqa: S105 (a header name)  # nosec B105
H_VERSION = "KC-API-KEY-VERSION"


def hmac_b64(secret: str, message: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=message)), both UTF-8."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def raw_query(params: QueryPairs) -> str:
    """``k=v&k2=v2`` without any percent-encoding: the form KuCoin signs."""
    return "&".join(f"{k}={v}" for k, v in params)


def encoded_query(params: QueryPairs) -> str:
    """The same pairs, same order, percent-encoded for the URL (space as %20, never '+')."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)


def compact_json(body: object) -> str:
    """The JSON text to both sign and send: no spaces after separators."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def prehash(
    timestamp_ms: int | str, method: str, path: str, query: str = "", body: str = ""
) -> str:
    """The string KuCoin signs; ``query`` is the *unencoded* query without its ``?``."""
    endpoint = f"{path}?{query}" if query else path
    return f"{timestamp_ms}{method.upper()}{endpoint}{body}"


def sign(
    secret: str, timestamp_ms: int | str, method: str, path: str, query: str = "", body: str = ""
) -> str:
    return hmac_b64(secret, prehash(timestamp_ms, method, path, query, body))


def passphrase_value(secret: str, passphrase: str, api_version: int) -> str:
    """``KC-API-PASSPHRASE``: HMAC'd with the secret for key versions 2 and 3, clear for 1."""
    if api_version == 1:
        return passphrase
    return hmac_b64(secret, passphrase)


def auth_headers(
    cred: Credential,
    *,
    timestamp_ms: int,
    method: str,
    path: str,
    query: str = "",
    body: str = "",
) -> dict[str, str]:
    """The ``KC-API-*`` headers for one request. The returned dict holds secrets: never log it."""
    secret = cred.api_secret.reveal()
    headers = {
        H_KEY: cred.api_key.reveal(),
        H_SIGN: sign(secret, timestamp_ms, method, path, query, body),
        H_TIMESTAMP: str(timestamp_ms),
        H_PASSPHRASE: passphrase_value(secret, cred.passphrase.reveal(), cred.api_version),
    }
    if cred.api_version != 1:
        # V1 keys predate the header; V2/V3 must send their own version (docs/kucoin.md, "Key
        # version header").
        headers[H_VERSION] = str(cred.api_version)
    return headers
