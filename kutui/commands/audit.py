"""``kutui audit [--json]``: risks in the stored keys, without contacting KuCoin.

Rules live in ``kutui.checks.audit``. The shared-passphrase rule needs the vault: it is unlocked
(keyring, ``--passphrase-file`` or a prompt) and passphrases are compared through an in-memory
HMAC only; ``--no-vault`` skips that rule. Exit 0 when no finding is a warning or worse, 1 when
one is, 2 on usage, config or vault errors. ``--json`` prints one JSON document on stdout:

    {"schema": 1, "audited_at": "...", "summary": {"critical": 1, "warning": 3, "info": 0},
     "findings": [{"rule": "...", "severity": "...", "ref": "...", "message": "...", "fix": "..."}]}
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag

if TYPE_CHECKING:
    from kutui.checks.audit import Finding

JSON_SCHEMA_VERSION = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="list risky keys (exit 1 if any warning)",
        description="Flag risks: trading or withdrawal keys without an IP whitelist, permissions "
        "that differ from the note, keys past the rotation age or near expiry, one passphrase on "
        "several keys, V1/V2 keys, keys never or not recently checked. Nothing is sent to KuCoin. "
        "Exit 0 when no finding is a warning or worse, 1 when one is, 2 on usage or vault errors.",
    )
    add_json_flag(parser)
    parser.add_argument(
        "--no-vault",
        action="store_true",
        help="do not unlock the vault (skips the shared-passphrase rule)",
    )
    parser.set_defaults(func=run_audit)


def finding_json(finding: Finding) -> dict[str, str]:
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "ref": str(finding.ref),
        "message": finding.message,
        "fix": finding.fix,
    }


def run_audit(args: argparse.Namespace) -> int:
    from collections import Counter

    from kutui.checks.audit import Severity, audit, passphrase_digests
    from kutui.commands.common import load_home, notice, open_vault, print_json, print_table
    from kutui.errors import UnlockError
    from kutui.model import now_utc

    home = load_home(args)
    registry = home.registry()
    digests: dict[str, bytes] = {}
    if not args.no_vault and home.vault_exists() and any(k.has_secret for k in registry.keys):
        try:
            vault = open_vault(args, home)
        except UnlockError as exc:
            skip = "or 'kutui audit --no-vault' to skip the shared-passphrase rule"
            hint = f"{exc.hint}, {skip}" if exc.hint else skip
            raise UnlockError(exc.message, hint=hint) from None
        digests = passphrase_digests(vault.data, [k.id for k in registry.keys])
        vault.close()
    elif not args.no_vault and not home.vault_exists() and registry.keys:
        notice("no vault: the shared-passphrase rule was skipped")
    now = now_utc()
    findings = audit(registry, home.config, now, digests=digests)
    del digests
    failing = any(f.severity.rank >= Severity.WARNING.rank for f in findings)
    if args.json:
        counts = Counter(f.severity.value for f in findings)
        print_json(
            {
                "schema": JSON_SCHEMA_VERSION,
                "audited_at": now.isoformat(),
                "summary": {s.value: counts.get(s.value, 0) for s in Severity},
                "findings": [finding_json(f) for f in findings],
            }
        )
        return 1 if failing else 0
    if not findings:
        print(f"no findings in {len(registry.keys)} key(s)")
        return 0
    print_table(
        ["SEVERITY", "KEY", "RULE", "FINDING"],
        [[f.severity.value, str(f.ref), f.rule_id, f.message] for f in findings],
    )
    print()
    for finding in findings:
        if finding.severity.rank >= Severity.WARNING.rank:
            print(f"{finding.ref}: {finding.rule_id}: fix: {finding.fix}")
    counts = Counter(f.severity.value for f in findings)
    summary = ", ".join(
        f"{counts[s.value]} {s.value}" for s in reversed(Severity) if counts[s.value]
    )
    print(f"\n{len(findings)} finding(s) in {len(registry.keys)} key(s): {summary}")
    return 1 if failing else 0
