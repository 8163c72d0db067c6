"""``kutui check --prometheus FILE --notify URL --ping URL``: the textfile read back by
prometheus_client's own parser, alerts through Apprise to a local ``json://`` sink, the dead-man
ping; a dead sink never changes the exit code (README.md, "Monitoring and alerts")."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kutui.cli import build_parser, main
from kutui.commands.check import run_check
from kutui.kucoin.simulator import Simulator
from kutui.model import PermissionNote, Registry, Status

from .simfleet import FleetKey, build_fleet
from .simhome import SimHome, make_home
from .sinks import dead_port, http_sink

NO_SECRET = "id0"


@pytest.fixture
def fleet_home(tmp_path: Path) -> tuple[Simulator, SimHome, list[FleetKey]]:
    sim = Simulator(seed=5)
    fleet = build_fleet(sim, uids=10, keys=24, faults_every=5, timeouts=0)
    sh = make_home(tmp_path / "home", fleet, without_secret=(NO_SECRET,))
    return sim, sh, fleet


def run(sim: Simulator, sh: SimHome, *command: str) -> int:
    args = build_parser().parse_args(sh.argv(*command))
    return int(run_check(args, transport=sim.transport()))


def expected_status(fleet: list[FleetKey]) -> dict[str, Status]:
    want = {str(f.target.ref): f.expected for f in fleet}
    want[next(str(f.target.ref) for f in fleet if f.target.key_id == NO_SECRET)] = Status.UNCHECKED
    return want


def secrets_of(fleet: list[FleetKey]) -> list[str]:
    values = []
    for item in fleet:
        cred = item.target.credential
        assert cred is not None
        values += [cred.api_key.reveal(), cred.api_secret.reveal(), cred.passphrase.reveal()]
        if item.sim_key is not None:
            values += [item.sim_key.api_key, item.sim_key.api_secret, item.sim_key.passphrase]
    return [v for v in values if len(v) >= 7]


def healthy_sub_keys(fleet: list[FleetKey]) -> list[FleetKey]:
    return [
        f
        for f in fleet
        if f.expected is Status.OK and f.target.ref.sub and f.target.key_id != NO_SECRET
    ]


# --------------------------------------------------------------------------- prometheus


def test_the_textfile_has_one_sample_per_key_with_the_right_values(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]], tmp_path: Path
) -> None:
    sim, sh, fleet = fleet_home
    expiring = healthy_sub_keys(fleet)[0]

    def set_expiry(reg: Registry) -> None:
        key = reg.key_by_id(expiring.target.key_id)
        assert key is not None
        key.expire_days = 30

    sh.home.update_registry(set_expiry)
    textfile = tmp_path / "collector" / "kutui.prom"
    textfile.parent.mkdir()
    assert run(sim, sh, "check", "--all", "--prometheus", str(textfile)) == 1

    text = textfile.read_text()
    assert stat.S_IMODE(textfile.stat().st_mode) == 0o644  # node_exporter runs as another user
    assert [p.name for p in textfile.parent.iterdir()] == ["kutui.prom"]  # no temp file left
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = [s for f in families.values() for s in f.samples]
    assert samples and all(s.timestamp is None for s in samples)
    assert not any(secret in text for secret in secrets_of(fleet))

    want = expected_status(fleet)
    up = {s.labels["ref"]: s for s in families["kutui_key_up"].samples}
    assert set(up) == set(want) and len(families["kutui_key_up"].samples) == len(fleet)
    for ref, status in want.items():
        assert up[ref].value == (1.0 if status is Status.OK else 0.0), ref
        account, _, rest = ref.partition("/")
        assert up[ref].labels["account"] == account
        assert up[ref].labels["sub"] == (rest.split("/")[0] if "/" in rest else "")
    current = {
        s.labels["ref"]: s.labels["status"]
        for s in families["kutui_key_status"].samples
        if s.value == 1.0
    }
    assert current == {ref: status.value for ref, status in want.items()}
    assert len(families["kutui_key_status"].samples) == len(fleet) * len(Status)

    totals = {s.labels["status"]: s.value for s in families["kutui_check_keys"].samples}
    for status in Status:
        assert totals[status.value] == sum(1 for s in want.values() if s is status)

    last = {
        s.labels["ref"]: s.value for s in families["kutui_key_last_check_timestamp_seconds"].samples
    }
    assert set(last) == set(want)
    run_at = families["kutui_check_last_run_timestamp_seconds"].samples[0].value
    assert all(run_at - 60 <= value <= run_at for value in last.values())

    # The one key with an expiry: 30 days after KuCoin's createdAt, learned by this run.
    expiry = {
        s.labels["ref"]: s.value for s in families["kutui_key_expiry_timestamp_seconds"].samples
    }
    assert expiring.sim_key is not None
    created = datetime.fromtimestamp(expiring.sim_key.created_at / 1000, UTC).replace(microsecond=0)
    assert expiry == {str(expiring.target.ref): (created + timedelta(days=30)).timestamp()}
    ages = {s.labels["ref"]: s.value for s in families["kutui_key_age_seconds"].samples}
    assert 0 <= ages[str(expiring.target.ref)] <= 3600


def test_a_textfile_outside_the_collector_naming_rule_is_refused_before_the_run(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, sh, _ = fleet_home
    assert main(sh.argv("check", "--all", "--prometheus", str(tmp_path / "kutui.txt"))) == 2
    assert "must end in .prom" in capsys.readouterr().err
    assert main(sh.argv("check", "--all", "--prometheus", str(tmp_path / "no" / "k.prom"))) == 2
    assert "does not exist" in capsys.readouterr().err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(sh.argv("check", "--all", "--prometheus", str(locked / "k.prom"))) == 2
        assert "is not writable by this user" in capsys.readouterr().err
    assert sh.home.registry().keys[1].last_check is None  # nothing was checked


def test_a_textfile_that_cannot_be_written_is_reported_and_keeps_the_exit_code(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, sh, _ = fleet_home
    blocked = tmp_path / "kutui.prom"
    blocked.mkdir()  # a directory where the file should go: the rename fails
    assert run(sim, sh, "check", "--all", "--prometheus", str(blocked)) == 1
    assert f"kutui: warning: could not write {blocked}: " in capsys.readouterr().err
    assert sh.home.registry().keys[1].last_check is not None  # the results were still saved
    assert list(tmp_path.glob(".kutui-*")) == []


# --------------------------------------------------------------------------- notify


def _mark_expiring_and_drifting(sh: SimHome, fleet: list[FleetKey]) -> tuple[str, str]:
    soon, drift = healthy_sub_keys(fleet)[:2]

    def change(reg: Registry) -> None:
        key = reg.key_by_id(soon.target.key_id)
        assert key is not None
        key.expire_days = 5  # within [rotation] expiry_warning_days (14) once createdAt is known
        other = reg.key_by_id(drift.target.key_id)
        assert other is not None
        other.note = PermissionNote("bot", expected_permissions=("General",))

    sh.home.update_registry(change)
    return str(soon.target.ref), str(drift.target.ref)


def test_one_notification_names_the_failing_keys_with_their_fix_and_no_secret(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, fleet = fleet_home
    soon, drift = _mark_expiring_and_drifting(sh, fleet)
    with http_sink() as sink:
        assert run(sim, sh, "check", "--all", "--notify", sink.url("json")) == 1
    assert len(sink.received) == 1
    sent = sink.received[0]
    assert sent.method == "POST" and sent.path == "/hook"
    payload: dict[str, Any] = json.loads(sent.body)  # Apprise's json:// payload
    title, body = payload["title"], payload["message"]
    want = expected_status(fleet)
    failing = [ref for ref, s in want.items() if s not in (Status.OK, Status.UNCHECKED)]
    assert title == f"kutui: {len(failing) + 2} key(s) need attention"
    for ref in failing:
        assert f"{ref}: {want[ref].value}: " in body
    for ref, status in want.items():
        if status in (Status.OK, Status.UNCHECKED) and ref not in (soon, drift):
            assert f"{ref}:" not in body
    assert f"{soon}: expires on " in body
    assert f"{drift}: permissions differ from the note: has Spot beyond the note" in body
    assert body.count("  fix: ") == len(failing) + 2
    assert "fix: rotate it before then: kutui rotate " + soon in body
    everything = sent.body.decode() + capsys.readouterr().err
    assert not any(secret in everything for secret in secrets_of(fleet))


def test_a_dead_sink_is_reported_and_keeps_the_exit_code(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    sim, sh, _ = fleet_home
    url = f"json://127.0.0.1:{dead_port()}/hook"
    assert run(sim, sh, "check", "--all", "--notify", url) == 1
    err = capsys.readouterr().err
    assert f"kutui: warning: could not send the notification to {url}" in err
    # Apprise's own log lines (they may quote a host or a token) stay quiet without --debug
    assert [r.getMessage() for r in caplog.records if r.name.startswith("apprise")] == []
    with http_sink(status=500) as sink:
        assert run(sim, sh, "check", "--all", "--notify", sink.url("json")) == 1
    assert "could not send the notification" in capsys.readouterr().err


def test_notify_urls_from_config_are_used_and_a_healthy_run_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(seed=6)
    fleet = [
        f for f in build_fleet(sim, uids=3, keys=3, faults_every=99) if f.expected is Status.OK
    ]
    sh = make_home(tmp_path / "home", fleet)
    with http_sink() as sink:
        sh.home.paths.config.write_text(f'[notify]\nurls = ["{sink.url("json")}"]\n')
        assert run(sim, sh, "check", "--all") == 0
        assert sink.received == []

        def break_one(reg: Registry) -> None:
            reg.keys[0].note = PermissionNote(expected_permissions=("General",))

        sh.home.update_registry(break_one)
        assert run(sim, sh, "check", "--all") == 0  # drift is an alert, not a failed check
    assert len(sink.received) == 1
    assert "permissions differ from the note" in json.loads(sink.received[0].body)["message"]


def test_an_unknown_notify_url_is_refused_before_the_run(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = fleet_home
    assert main(sh.argv("check", "--all", "--notify", "nosuchservice://tok3n/x")) == 2
    err = capsys.readouterr().err
    assert "--notify: URL 1 (nosuchservice://…) is not one Apprise can send to" in err
    assert "tok3n" not in err


def test_without_apprise_the_message_says_how_to_install_it(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    sim, sh, _ = fleet_home
    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise -> ImportError
    assert main(sh.argv("check", "--all", "--notify", "json://127.0.0.1:9/x")) == 2
    err = capsys.readouterr().err
    assert "need Apprise, which is not installed" in err
    assert "pip install 'kutui[notify]'" in err


# --------------------------------------------------------------------------- ping


def test_the_dead_man_ping_says_success_or_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(seed=7)
    fleet = build_fleet(sim, uids=3, keys=9, faults_every=99)
    sh = make_home(tmp_path / "home", fleet)
    healthy = [f.target.ref for f in fleet if f.expected is Status.OK]
    with http_sink() as sink:
        url = sink.url("http", "/ping/abc-123")
        assert run(sim, sh, "check", *map(str, healthy), "--ping", url) == 0
        assert run(sim, sh, "check", "--all", "--ping", url) == 1
        sh.home.paths.config.write_text("[checks]\nconcurrency = 0\n")  # a config error: exit 2
        assert main(sh.argv("check", "--all", "--ping", url)) == 2
    got = [(r.method, r.path) for r in sink.received]
    assert got == [
        ("POST", "/ping/abc-123"),
        ("POST", "/ping/abc-123/fail"),
        ("POST", "/ping/abc-123/fail"),
    ]
    assert sink.received[0].body.decode() == (
        f"kutui check: {len(healthy)} key(s): {len(healthy)} ok; exit 0"
    )
    assert sink.received[2].body.decode() == "kutui check stopped: exit 2"


def test_a_bug_during_the_run_is_pinged_as_a_failure(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kutui.checks import runner

    sim, sh, _ = fleet_home

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "build_targets", broken)
    with http_sink() as sink:
        assert main(sh.argv("check", "--all", "--ping", sink.url("http", "/p"))) == 70
    assert [(r.path, r.body) for r in sink.received] == [
        ("/p/fail", b"kutui check stopped: exit 70")
    ]


def test_a_dead_ping_target_keeps_the_exit_code(
    fleet_home: tuple[Simulator, SimHome, list[FleetKey]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, sh, _ = fleet_home
    port = dead_port()
    assert run(sim, sh, "check", "--all", "--ping", f"http://127.0.0.1:{port}/tok3n") == 1
    err = capsys.readouterr().err
    assert f"could not ping http://127.0.0.1:{port}/…: ConnectError" in err
    assert "tok3n" not in err
