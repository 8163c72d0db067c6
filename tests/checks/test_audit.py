"""Every audit rule: one case that triggers it and one that does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kutui.checks.audit import (
    RULE_IDS,
    Severity,
    audit,
    passphrase_digests,
    worst,
)
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
from kutui.store.config import ChecksConfig, Config, RotationConfig

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONFIG = Config(
    checks=ChecksConfig(stale_after_hours=24),
    rotation=RotationConfig(max_key_age_days=90, expiry_warning_days=14),
)


def healthy_key(ref: str = "main/sub1/bot", key_id: str = "k1", **changes: object) -> ApiKey:
    """A key no rule complains about; tests change one thing at a time."""
    key = ApiKey(
        id=key_id,
        ref=KeyRef.parse(ref),
        fingerprint="ab12",
        api_version=3,
        created_at=NOW - timedelta(days=10),
        added_at=NOW - timedelta(days=10),
        permissions_seen=("General", "Spot"),
        ip_whitelist_seen="203.**.154",
        has_secret=True,
        note=PermissionNote("grid bot", ("General", "Spot")),
        last_check=CheckResult(Status.OK, NOW - timedelta(hours=1)),
    )
    return replace(key, **changes)  # type: ignore[arg-type]


def registry_of(*keys: ApiKey) -> Registry:
    return Registry(
        accounts=[Account("main", subaccounts=[SubAccount("sub1"), SubAccount("sub2")])],
        keys=list(keys),
    )


def rules_hit(*keys: ApiKey, digests: dict[str, bytes] | None = None) -> set[str]:
    return {f.rule_id for f in audit(registry_of(*keys), CONFIG, NOW, digests=digests)}


def test_healthy_key_has_no_findings() -> None:
    assert audit(registry_of(healthy_key()), CONFIG, NOW) == []


# --------------------------------------------------------------- no IP whitelist


def test_trading_key_without_whitelist_is_a_warning() -> None:
    findings = audit(registry_of(healthy_key(ip_whitelist_seen="")), CONFIG, NOW)
    assert [(f.rule_id, f.severity) for f in findings] == [("no-ip-whitelist", Severity.WARNING)]
    assert "30 days" in findings[0].message
    assert "IP" in findings[0].fix


def test_withdrawal_key_without_whitelist_is_critical() -> None:
    key = healthy_key(
        ip_whitelist_seen="",
        permissions_seen=("General", "Withdrawal"),
        note=PermissionNote("", ("General", "Withdrawal")),
    )
    findings = audit(registry_of(key), CONFIG, NOW)
    assert [(f.rule_id, f.severity) for f in findings] == [("no-ip-whitelist", Severity.CRITICAL)]


def test_general_only_key_without_whitelist_is_fine() -> None:
    key = healthy_key(
        ip_whitelist_seen="", permissions_seen=("General",), note=PermissionNote("", ("General",))
    )
    assert rules_hit(key) == set()


def test_whitelisted_trading_key_is_fine() -> None:
    assert "no-ip-whitelist" not in rules_hit(healthy_key())


# --------------------------------------------------------------- permissions differ


def test_permissions_beyond_note_are_flagged() -> None:
    key = healthy_key(permissions_seen=("General", "Spot", "Futures"))
    findings = audit(registry_of(key), CONFIG, NOW)
    assert [f.rule_id for f in findings] == ["permissions-differ"]
    assert "Futures" in findings[0].message


def test_missing_permission_is_flagged() -> None:
    key = healthy_key(permissions_seen=("General",))
    findings = audit(registry_of(key), CONFIG, NOW)
    assert [f.rule_id for f in findings] == ["permissions-differ"]
    assert "lacks Spot" in findings[0].message


def test_same_permissions_in_another_order_are_fine() -> None:
    key = healthy_key(permissions_seen=("Spot", "General"))
    assert rules_hit(key) == set()


def test_no_expected_set_means_nothing_to_compare() -> None:
    key = healthy_key(note=PermissionNote("text only"))
    assert rules_hit(key) == set()


# --------------------------------------------------------------- age


def test_key_older_than_policy_is_flagged() -> None:
    key = healthy_key(created_at=NOW - timedelta(days=91))
    findings = audit(registry_of(key), CONFIG, NOW)
    assert [f.rule_id for f in findings] == ["key-too-old"]
    assert "91 days" in findings[0].message


def test_key_at_policy_age_is_fine() -> None:
    assert rules_hit(healthy_key(created_at=NOW - timedelta(days=90))) == set()


def test_age_falls_back_to_added_at() -> None:
    key = healthy_key(created_at=None, added_at=NOW - timedelta(days=200))
    assert rules_hit(key) == {"key-too-old"}


# --------------------------------------------------------------- expiry


def test_sub_key_near_expiry_is_flagged() -> None:
    key = healthy_key(created_at=NOW - timedelta(days=20), expire_days=30)
    findings = audit(registry_of(key), CONFIG, NOW)
    assert [(f.rule_id, f.severity) for f in findings] == [("key-expiring", Severity.WARNING)]


def test_expired_sub_key_is_critical() -> None:
    key = healthy_key(created_at=NOW - timedelta(days=31), expire_days=30)
    assert [(f.rule_id, f.severity) for f in audit(registry_of(key), CONFIG, NOW)] == [
        ("key-expired", Severity.CRITICAL)
    ]


def test_sub_key_far_from_expiry_or_never_expiring_is_fine() -> None:
    assert rules_hit(healthy_key(created_at=NOW - timedelta(days=1), expire_days=30)) == set()
    assert rules_hit(healthy_key(expire_days=-1)) == set()


def test_master_key_expiry_is_not_judged() -> None:
    key = healthy_key("main/bot", created_at=NOW - timedelta(days=29), expire_days=30)
    assert rules_hit(key) == set()


# --------------------------------------------------------------- shared passphrase


def _cred(passphrase: str) -> Credential:
    return Credential(Secret("a" * 24), Secret("s"), Secret(passphrase))


class _Vault:
    def __init__(self, creds: dict[str, Credential]) -> None:
        self.creds = creds

    def get(self, key_id: str) -> Credential | None:
        return self.creds.get(key_id)


def test_same_passphrase_on_two_keys_is_flagged_for_both() -> None:
    keys = [healthy_key(key_id="k1"), healthy_key("main/sub2/bot", key_id="k2")]
    vault = _Vault({"k1": _cred("same-pass-1"), "k2": _cred("same-pass-1")})
    digests = passphrase_digests(vault, ["k1", "k2"])
    findings = audit(registry_of(*keys), CONFIG, NOW, digests=digests)
    assert sorted((f.rule_id, str(f.ref)) for f in findings) == [
        ("shared-passphrase", "main/sub1/bot"),
        ("shared-passphrase", "main/sub2/bot"),
    ]
    text = " ".join(f.message + f.fix for f in findings)
    assert "same-pass-1" not in text


def test_different_passphrases_are_fine() -> None:
    keys = [healthy_key(key_id="k1"), healthy_key("main/sub2/bot", key_id="k2")]
    vault = _Vault({"k1": _cred("pass-one-1"), "k2": _cred("pass-two-2")})
    assert rules_hit(*keys, digests=passphrase_digests(vault, ["k1", "k2", "absent"])) == set()


def test_digests_are_not_the_passphrase_and_change_per_run() -> None:
    vault = _Vault({"k1": _cred("same-pass-1")})
    first = passphrase_digests(vault, ["k1"])["k1"]
    second = passphrase_digests(vault, ["k1"])["k1"]
    assert b"same-pass-1" not in first
    assert first != second  # a fresh in-memory HMAC key each run


PASSES = ["alpha-pass", "beta-pass1", "gamma-pass"]


@given(st.lists(st.sampled_from(PASSES), min_size=1, max_size=8))
def test_shared_passphrase_matches_equal_values_exactly(passes: list[str]) -> None:
    keys = [healthy_key(f"main/sub1/k{i}", key_id=f"k{i}") for i in range(len(passes))]
    vault = _Vault({f"k{i}": _cred(p) for i, p in enumerate(passes)})
    digests = passphrase_digests(vault, [k.id for k in keys])
    flagged = {str(f.ref) for f in audit(registry_of(*keys), CONFIG, NOW, digests=digests)}
    expected = {f"main/sub1/k{i}" for i, p in enumerate(passes) if passes.count(p) > 1}
    assert flagged == expected


# --------------------------------------------------------------- key version


def test_v2_key_is_a_warning_and_v1_critical() -> None:
    v2 = audit(registry_of(healthy_key(api_version=2)), CONFIG, NOW)
    v1 = audit(registry_of(healthy_key(api_version=1)), CONFIG, NOW)
    assert [(f.rule_id, f.severity) for f in v2] == [("legacy-key-version", Severity.WARNING)]
    assert [(f.rule_id, f.severity) for f in v1] == [("legacy-key-version", Severity.CRITICAL)]


def test_v3_key_is_fine() -> None:
    assert "legacy-key-version" not in rules_hit(healthy_key(api_version=3))


# --------------------------------------------------------------- check freshness


def test_never_checked_key_with_secret_is_a_warning() -> None:
    findings = audit(registry_of(healthy_key(last_check=None)), CONFIG, NOW)
    assert [(f.rule_id, f.severity) for f in findings] == [("never-checked", Severity.WARNING)]
    assert findings[0].fix == "kutui check main/sub1/bot"


def test_never_checked_key_without_secret_is_only_info() -> None:
    key = healthy_key(last_check=None, has_secret=False)
    assert [(f.rule_id, f.severity) for f in audit(registry_of(key), CONFIG, NOW)] == [
        ("never-checked", Severity.INFO)
    ]


def test_stale_check_is_flagged() -> None:
    key = healthy_key(last_check=CheckResult(Status.OK, NOW - timedelta(hours=25)))
    assert rules_hit(key) == {"stale-check"}


def test_recent_check_is_fine() -> None:
    key = healthy_key(last_check=CheckResult(Status.OK, NOW - timedelta(hours=23)))
    assert rules_hit(key) == set()


# --------------------------------------------------------------- ordering


def test_findings_are_sorted_worst_first() -> None:
    keys = [
        healthy_key("main/sub1/a", key_id="a", last_check=None),
        healthy_key("main/sub1/b", key_id="b", api_version=1),
    ]
    findings = audit(registry_of(*keys), CONFIG, NOW)
    assert [f.severity for f in findings] == [Severity.CRITICAL, Severity.WARNING]
    assert worst(findings) is Severity.CRITICAL
    assert worst([]) is None


def test_rule_ids_list_every_rule_that_fires() -> None:
    fired = rules_hit(
        healthy_key("main/sub1/a", key_id="a", ip_whitelist_seen="", api_version=2),
        healthy_key("main/sub1/b", key_id="b", permissions_seen=("General",), last_check=None),
        healthy_key("main/sub1/c", key_id="c", created_at=NOW - timedelta(days=100)),
        healthy_key("main/sub1/d", key_id="d", created_at=NOW - timedelta(days=20), expire_days=30),
        healthy_key("main/sub1/e", key_id="e", created_at=NOW - timedelta(days=40), expire_days=30),
        healthy_key(
            "main/sub1/f", key_id="f", last_check=CheckResult(Status.OK, NOW - timedelta(days=3))
        ),
        digests={"a": b"x", "f": b"x"},
    )
    assert fired == set(RULE_IDS)
