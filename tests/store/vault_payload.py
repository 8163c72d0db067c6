"""Write a raw payload into a vault through the vault's own encryption (as an older kutui that
stored a bad value would have): the header, the data key and the seal are the vault's."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from kutui.store.files import atomic_write, locked
from kutui.store.vault import Vault
from kutui.store.vault_crypto import open_sealed, seal
from kutui.store.vault_format import pad_payload, parse, unpad_payload


def write_payload(vault: Vault, keys: dict[str, Any]) -> None:
    with locked(vault.path):
        header, _, _ = parse(vault.path.read_bytes(), vault.path)
        header = replace(header, generation=header.generation + 1)
        plain = json.dumps({"schema": 1, "keys": keys}).encode()  # ensure_ascii, as kutui writes
        _, blob = seal(header, vault._held_dek(), pad_payload(plain))
        atomic_write(vault.path, blob)


def read_payload(vault: Vault) -> dict[str, Any]:
    header, header_bytes, ciphertext = parse(vault.path.read_bytes(), vault.path)
    plain = open_sealed(header, header_bytes, ciphertext, vault._held_dek())
    assert plain is not None
    keys: dict[str, Any] = json.loads(unpad_payload(plain, vault.path))["keys"]
    return keys


def entry(api_key: str, api_secret: str, passphrase: str) -> dict[str, Any]:
    return {
        "api_key": api_key,
        "api_secret": api_secret,
        "passphrase": passphrase,
        "api_version": 3,
        "saved_at": None,
    }
