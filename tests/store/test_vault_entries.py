"""One unusable vault entry must not brick the vault: it is kept raw, named, and removable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kutui.model import ApiKey, KeyRef, Registry, Slot
from kutui.secret import Secret
from kutui.store.entries import MISSING, OK, ORPHAN, UNUSABLE, entry_states
from kutui.store.vault import Unusable, Vault, VaultData
from tests.store.conftest import TINY_KDF
from tests.store.vault_payload import entry, read_payload, write_payload

PASS = Secret("entries test passphrase")
GOOD_KEY = "6705f5c311545b000157d3eb"
# What `printf 'KEY\nSECRET\xe9\nPASS\n' | kutui key add` stored before input was validated:
# the byte 0xE9 decoded with surrogateescape, a lone surrogate JSON can carry but UTF-8 cannot.
BAD_SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3\udce9"


def _vault(tmp_path: Path) -> Vault:
    vault = Vault.create(tmp_path / "vault.kv1", passphrase=PASS, kdf=TINY_KDF, allow_weak=True)
    write_payload(
        vault,
        {
            "good": {"CURRENT": entry(GOOD_KEY, "secret-good", "Passphrase-1")},
            "bad": {
                "CURRENT": entry("6705f5c311545b000157d3ff", BAD_SECRET, "Passphrase-2"),
                "PREVIOUS": entry("6705f5c311545b000157d300", "secret-old", "Passphrase-3"),
            },
        },
    )
    return Vault.open(vault.path, passphrase=PASS)


def test_a_vault_with_an_unusable_entry_opens_and_the_others_work(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    good = vault.data.get("good")
    assert good is not None and good.api_key.reveal() == GOOD_KEY
    assert vault.data.get("bad") is None  # unusable: absent to every reader
    previous = vault.data.get("bad", Slot.PREVIOUS)  # its other slot is fine
    assert previous is not None and previous.api_secret.reveal() == "secret-old"
    why = "api_secret is not valid text (it was stored from non-UTF-8 input)"
    assert vault.data.unusable() == [Unusable("bad", "CURRENT", why)]
    assert vault.data.problem("bad") == Unusable("bad", "CURRENT", why)
    assert vault.data.key_ids() == ["bad", "good"]


def test_the_unusable_entry_survives_saves_byte_for_byte(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    before = read_payload(vault)["bad"]["CURRENT"]
    vault.update(lambda d: d.remove_key("good"))
    vault.update(lambda d: d.put("bad", d.get("bad", Slot.PREVIOUS), Slot.PENDING))  # type: ignore[arg-type]
    after = read_payload(vault)["bad"]
    assert after["CURRENT"] == before
    assert json.dumps(after["CURRENT"]) == json.dumps(before)
    assert set(after) == {"CURRENT", "PREVIOUS", "PENDING"}
    again = Vault.open(vault.path, passphrase=PASS)
    assert [u.key_id for u in again.data.unusable()] == ["bad"]


def test_removing_the_key_drops_the_unusable_entry(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.update(lambda d: d.remove_key("bad"))
    again = Vault.open(vault.path, passphrase=PASS)
    assert again.data.unusable() == [] and again.data.key_ids() == ["good"]
    assert "bad" not in read_payload(again)


def test_replacing_the_unusable_slot_forgets_the_raw_value(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    fresh = vault.data.get("good")
    assert fresh is not None
    vault.update(lambda d: d.put("bad", fresh))
    assert Vault.open(vault.path, passphrase=PASS).data.unusable() == []


def test_entry_states_name_the_entry_never_its_content(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    registry = Registry(
        keys=[
            ApiKey("bad", KeyRef("main", "", "x"), has_secret=True),
            ApiKey("gone", KeyRef("main", "", "y"), has_secret=True),
        ]
    )
    states = {(e.key_id, e.slot): e for e in entry_states(registry, vault.data)}
    assert states[("bad", "CURRENT")].state == UNUSABLE
    assert states[("bad", "PREVIOUS")].state == OK
    assert states[("good", "CURRENT")].state == ORPHAN  # no key record lists it
    assert states[("gone", "CURRENT")].state == MISSING
    line = states[("bad", "CURRENT")].describe()
    assert line == (
        "main/x (key id bad), slot CURRENT: unusable: api_secret is not valid text (it was "
        "stored from non-UTF-8 input); to remove it: kutui key remove main/x"
    )
    assert "kutui key remove --orphan good" in states[("good", "CURRENT")].describe()
    for state in states.values():
        for secret in ("f03a5284", "secret-", "Passphrase-", GOOD_KEY):
            assert secret not in state.describe()


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=3), json_values)
def test_any_entry_never_stops_the_payload_and_round_trips(
    slots: dict[str, Any], whole: Any
) -> None:
    assume(slots != {} and whole != {})  # an empty entry holds nothing to keep
    good = {"CURRENT": entry(GOOD_KEY, "s", "p")}
    plain = json.dumps({"schema": 1, "keys": {"a": slots, "b": whole, "good": good}}).encode()
    data = VaultData.from_json(plain, Path("v"))
    assert data.get("good") is not None
    again = VaultData.from_json(data.to_json(), Path("v"))
    assert again == data
    assert json.loads(again.to_json())["keys"] == json.loads(plain)["keys"]


# --- entries are made Credentials on first use (kutui/store/vault.py, ``_Encoded``) ---------


def eager(plain: bytes) -> tuple[dict[str, dict[str, Any]], list[Unusable]]:
    """What an open made of the payload when every entry was decoded at once: per key id, each
    usable slot's credential as ``_credential_json`` writes it, and the unusable entries."""
    from kutui.store.vault import _BadEntry, _credential_from, _credential_json

    usable: dict[str, dict[str, Any]] = {}
    bad: list[Unusable] = []
    for key_id, slots in json.loads(plain)["keys"].items():
        if not isinstance(slots, dict):
            bad.append(Unusable(key_id, None, "its slots are not a table"))
            continue
        for name, value in slots.items():
            try:
                credential = _credential_from(name, value)
                usable.setdefault(key_id, {})[name] = _credential_json(credential)
            except _BadEntry as exc:
                bad.append(Unusable(key_id, name, exc.why))
    return usable, sorted(bad, key=lambda u: (u.key_id, u.slot or ""))


credential_fields = st.fixed_dictionaries(
    {
        "api_key": st.text(max_size=6) | st.integers() | st.none(),
        "api_secret": st.text(max_size=6),
        "passphrase": st.text(max_size=6),
    },
    optional={
        "api_version": st.integers(1, 3) | st.booleans() | st.text(max_size=2),
        "saved_at": st.none()
        | st.just("")
        | st.just("2026-03-01T12:30:00Z")
        | st.just("2026-03-01T12:30:00.5+02:00")
        | st.just("2026-03-01")
        | st.text(max_size=4),
        "extra": st.integers(),
    },
)


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.text(max_size=4),
        st.dictionaries(
            st.sampled_from(["CURRENT", "PENDING", "PREVIOUS", "OTHER"]),
            credential_fields | json_values,
            max_size=3,
        ),  # fmt: skip
        max_size=4,
    ),
    st.booleans(),
)
def test_entries_decoded_on_use_read_and_save_as_decoded_at_once(
    keys: dict[str, Any], raw_utf8: bool
) -> None:
    """Whether a slot is usable, what it holds and what a save writes for it are the same as when
    ``from_json`` decoded every entry, whichever entries were used before the save; also for
    text written as raw UTF-8 (lone surrogates as bytes, through ``surrogatepass``) rather than
    escapes."""
    document = {"schema": 1, "keys": keys}
    if raw_utf8:
        plain = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        plain = json.dumps(document).encode()
    usable, bad = eager(plain)
    data = VaultData.from_json(plain, Path("v"))
    assert data.unusable() == bad
    saved = json.loads(VaultData.from_json(plain, Path("v")).to_json())["keys"]
    for key_id, slots in usable.items():
        assert {name: saved[key_id][name] for name in slots} == slots
        for name, written in slots.items():
            got = data.get(key_id, Slot(name))
            assert got is not None
            assert (got.api_key.reveal(), got.api_secret.reveal()) == (
                written["api_key"],
                written["api_secret"],
            )
    assert json.loads(data.to_json())["keys"] == saved  # used, then saved: the same


def test_an_entry_is_registered_for_redaction_when_first_used(tmp_path: Path) -> None:
    from kutui.redact import redact

    vault = _vault(tmp_path)
    good = vault.data.get("good")
    assert good is not None and good.api_secret.reveal() == "secret-good"
    assert "secret-good" not in redact("signing with secret-good")
