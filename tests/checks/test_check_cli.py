"""``kutui check``: JSON schema, exit codes, table, progress, what gets saved."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kutui.checks.runner import CheckEvent, CheckTarget
from kutui.cli import build_parser, main
from kutui.commands.check import Progress, run_check
from kutui.kucoin.simulator import Simulator
from kutui.model import CheckResult, KeyRef, RemoteState, Status, now_utc

from .simfleet import build_fleet
from .simhome import SimHome, make_home

#: The documented ``kutui check --json`` schema (docs/checks.md), as a plain dict.
#: "type" lists the JSON types allowed ("null" for optional values).
CHECK_SCHEMA: dict[str, Any] = {
    "required": {"schema": "int", "checked_at": "datetime", "summary": "object", "keys": "array"},
    "schema_version": 1,
    "summary_values": "int",
    "key": {
        "ref": ("str",),
        "fingerprint": ("str",),
        "status": ("status",),
        "code": ("str",),
        "message": ("str",),
        "fix": ("str",),
        "latency_ms": ("number",),
        "permissions": ("str_array",),
        "ip_whitelist": ("str",),
        "api_version": ("int", "null"),
        "uid": ("int", "null"),
        "checked_at": ("datetime",),
    },
}
STATUS_NAMES = {s.value for s in Status}


def _is(kind: str, value: object) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "str_array":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "status":
        return value in STATUS_NAMES
    if kind == "datetime":
        try:
            return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False
    raise AssertionError(kind)


def schema_problems(doc: object) -> list[str]:
    """Every way ``doc`` breaks CHECK_SCHEMA (empty: valid)."""
    if not isinstance(doc, dict):
        return ["document is not an object"]
    problems = []
    required = CHECK_SCHEMA["required"]
    if set(doc) != set(required):
        problems.append(f"top-level keys {sorted(doc)} != {sorted(required)}")
    for name, kind in required.items():
        if name in doc and not _is(kind, doc[name]):
            problems.append(f"{name} is not {kind}")
    if doc.get("schema") != CHECK_SCHEMA["schema_version"]:
        problems.append("wrong schema version")
    for status, count in (doc.get("summary") or {}).items():
        if status not in STATUS_NAMES or not _is("int", count):
            problems.append(f"summary[{status!r}] = {count!r}")
    for i, row in enumerate(doc.get("keys") or []):
        if not isinstance(row, dict) or set(row) != set(CHECK_SCHEMA["key"]):
            problems.append(f"keys[{i}] has fields {sorted(row) if isinstance(row, dict) else row}")
            continue
        for field, kinds in CHECK_SCHEMA["key"].items():
            if not any(_is(k, row[field]) for k in kinds):
                problems.append(f"keys[{i}].{field} = {row[field]!r} is not {kinds}")
    return problems


def test_schema_checker_rejects_bad_documents() -> None:
    good = {"schema": 1, "checked_at": "2026-11-25T08:00:00+00:00", "summary": {}, "keys": []}
    assert schema_problems(good) == []
    assert schema_problems({**good, "schema": 2})
    assert schema_problems({**good, "summary": {"fine": 1}})
    assert schema_problems({**good, "keys": [{"ref": "a/b"}]})
    assert schema_problems({**good, "extra": 1})


@pytest.fixture
def fleet_home(tmp_path: Path) -> tuple[Simulator, SimHome, list[Any]]:
    sim = Simulator(seed=3)
    fleet = build_fleet(sim, uids=30, keys=60, faults_every=5, timeouts=0)
    sh = make_home(tmp_path / "home", fleet, without_secret=("id0",))
    return sim, sh, fleet


def run(sim: Simulator, sh: SimHome, *command: str) -> int:
    args = build_parser().parse_args(sh.argv(*command))
    return int(run_check(args, transport=sim.transport()))


def test_check_all_json_matches_the_schema_and_the_truth(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    assert run(sim, sh, "check", "--all", "--json") == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)  # exactly one JSON document, nothing else on stdout
    assert schema_problems(doc) == []
    got = {row["ref"]: row["status"] for row in doc["keys"]}
    expected = {str(f.target.ref): f.expected.value for f in fleet}
    expected[str(fleet[0].target.ref)] = "unchecked"  # no secret stored
    assert got == expected
    assert doc["summary"] == dict(Counter(expected.values()))
    assert set(doc["summary"]) == STATUS_NAMES
    rows = {row["ref"]: row for row in doc["keys"]}
    bad = next(f for f in fleet if f.expected is Status.BAD_PASSPHRASE)
    assert "passphrase" in rows[str(bad.target.ref)]["fix"]
    ok = next(f for f in fleet[1:] if f.expected is Status.OK)
    assert rows[str(ok.target.ref)]["uid"] == ok.uid
    assert rows[str(ok.target.ref)]["fix"] == ""
    # No API key or secret anywhere in the output (any(): a failure prints no fake secret).
    creds = [f.target.credential for f in fleet if f.target.credential is not None]
    assert not any(c.api_key.reveal() in out + err for c in creds)
    assert not any(c.api_secret.reveal() in out + err for c in creds)


def test_results_are_saved_to_registry_and_history(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    run(sim, sh, "check", "--all", "--json")
    registry = sh.home.registry()
    for f in fleet[1:]:
        key = registry.key_by_id(f.target.key_id)
        assert key is not None and key.last_check is not None
        assert key.last_check.status is f.expected
    ok = next(f for f in fleet[1:] if f.expected is Status.OK and f.target.ref.sub)
    key = registry.key_by_id(ok.target.key_id)
    assert key is not None
    assert key.permissions_seen == ("General", "Spot")
    assert key.remote is RemoteState.PRESENT
    sub = registry.account("acct").sub(ok.target.ref.sub)  # type: ignore[union-attr]
    assert sub is not None and sub.uid == ok.uid
    gone = next(f for f in fleet if f.expected is Status.INVALID_KEY)
    assert registry.key_by_id(gone.target.key_id).remote is RemoteState.MISSING  # type: ignore[union-attr]
    assert registry.key_by_id("id0").last_check is None  # type: ignore[union-attr]
    history = sh.home.histories()
    assert len(history) == 59 and "id0" not in history
    run(sim, sh, "check", "--all", "--json")
    assert all(len(v) == 2 for v in sh.home.histories().values())


def test_exit_0_when_every_checked_key_is_ok(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    ok_refs = [str(f.target.ref) for f in fleet if f.expected is Status.OK][:5]
    assert run(sim, sh, "check", *ok_refs, str(fleet[0].target.ref)) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "unchecked" in out


def test_table_is_sorted_by_severity_with_fixes(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    assert run(sim, sh, "check", "acct") == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    first_status = lines[2].split()[0]
    assert first_status == "invalid_key"  # the worst status first
    assert "fix: re-enter both the API passphrase chosen" in out
    assert "fix: add the address KuCoin names" in out
    assert "127.0.0.1" in out  # the IP KuCoin saw
    assert err == ""  # not a terminal: no progress line


def test_account_and_sub_account_refs_select_their_keys(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    sub_key = next(f for f in fleet if f.target.ref.sub and f.expected is Status.OK)
    owner = sub_key.target.ref.owner
    run(sim, sh, "check", owner, "--json")
    doc = json.loads(capsys.readouterr().out)
    expected = sorted(str(f.target.ref) for f in fleet if f.target.ref.owner == owner)
    assert [row["ref"] for row in doc["keys"]] == expected


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["check", "--all", "acct"],
        ["check", "nosuch"],
        ["check", "acct/nosub/nokey"],
        ["check", "bad name!"],
        ["check", "--all", "--concurrency", "0"],
        ["check", "--all", "--timeout", "-1"],
        ["check", "--all", "--api-url", "ftp://x"],
        ["check", "--all", "--concurrency", "many"],
    ],
)
def test_usage_errors_exit_2(
    fleet_home: tuple[Simulator, SimHome, list[Any]],
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    sim, sh, _ = fleet_home
    assert main(sh.argv(*command)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert sim.counters.requests == 0


def test_vault_errors_exit_2(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = fleet_home
    sh.passphrase_file.write_text("wrong passphrase\n")
    assert main(sh.argv("check", "--all", "--json")) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    sh.home.paths.vault.write_bytes(b"garbage")
    assert main(sh.argv("check", "--all", "--json")) == 2
    assert str(sh.home.paths.vault) in capsys.readouterr().err


def test_config_errors_exit_2(
    fleet_home: tuple[Simulator, SimHome, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, sh, _ = fleet_home
    sh.home.paths.config.write_text("[checks]\nconcurrency = 'lots'\n")
    sh.home.paths.config.chmod(0o600)
    assert main(sh.argv("check", "--all")) == 2
    assert "checks.concurrency" in capsys.readouterr().err


def test_progress_line_shows_done_counts_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = Progress(4, stream, every=0)
    target = CheckTarget("k", KeyRef("a", "", "b"), "https://x", None)
    for done, status in enumerate([Status.OK, Status.OK, Status.BAD_SECRET, Status.OK], 1):
        progress.update(CheckEvent(target, CheckResult(status, now_utc()), done, 4))
    progress.finish()
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "checked 4/4" in last
    assert "ok 3" in last and "bad_secret 1" in last
    assert "/s" in last and "ETA 0 s" in last


def test_headless_check_never_imports_textual(
    fleet_home: tuple[Simulator, SimHome, list[Any]],
) -> None:
    import subprocess
    import sys

    _, sh, _ = fleet_home
    # The keys point at 127.0.0.1:9 (nothing listens): every key is unreachable, over real httpx.
    code = (
        "import sys, json\n"
        "from kutui.cli import main\n"
        f"rc = main({sh.argv('check', 'acct/key10', '--json', '--timeout', '2')!r})\n"
        "assert not any(m.split('.')[0] == 'textual' for m in sys.modules), 'textual imported'\n"
        "raise SystemExit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"] == {"unreachable": 1}
    assert "clock" in doc["keys"][0]["message"]
