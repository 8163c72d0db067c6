"""Where things live in the KV v2 mount (README, "Teams"; docs/storage.md, "OpenBao").

One secret per key at ``<prefix>/<ACCOUNT>/<LABEL>`` or ``<prefix>/<ACCOUNT>/<SUB>/<LABEL>``,
with the fields ``api_key``, ``api_secret``, ``passphrase`` and ``api_version`` (what Vault Agent
templates and ``bao kv get`` address), plus ``kutui_key_id`` and ``saved_at``. kutui's own records
sit under ``<prefix>/_kutui/``: names never start with ``_`` (``kutui.model.valid_name``), so no
account can collide with it.
"""

from __future__ import annotations

from kutui.model import KeyRef

RESERVED = "_kutui"
#: The fields a consumer reads; ``KUTUI_FIELDS`` are kutui's bookkeeping beside them.
KEY_FIELDS = ("api_key", "api_secret", "passphrase", "api_version")
KUTUI_FIELDS = ("kutui_key_id", "saved_at")


def key_path(prefix: str, ref: KeyRef) -> str:
    parts = [ref.account, ref.sub, ref.label] if ref.sub else [ref.account, ref.label]
    return "/".join([prefix, *parts])


def registry_path(prefix: str) -> str:
    return f"{prefix}/{RESERVED}/registry"


def pending_dir(prefix: str) -> str:
    """A verified-not-yet key waits here, by key id, never at the key's own path."""
    return f"{prefix}/{RESERVED}/pending"


def pending_path(prefix: str, key_id: str) -> str:
    return f"{pending_dir(prefix)}/{key_id}"


def previous_path(prefix: str) -> str:
    """One record: key id -> the KV version holding the key before the last promote."""
    return f"{prefix}/{RESERVED}/previous"


def rotations_dir(prefix: str) -> str:
    return f"{prefix}/{RESERVED}/rotations"


def lease_path(prefix: str, key_id: str) -> str:
    return f"{prefix}/{RESERVED}/leases/{key_id}"
