"""Writing a consumer's target: everything else kept, 0600, symlinks and others' files refused,
read back; command consumers get JSON on stdin; reload exit statuses are recorded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.consumers.deliver import deliver, read_target
from kutui.consumers.formats import (
    FormatProblem,
    env_read,
    env_render,
    exec_env,
    json_read,
    json_render,
)
from kutui.model import Consumer, ConsumerKind, Credential, DeliveryStatus, env_names, now_utc
from kutui.secret import Secret

VALUES = ("6705f5c311545b000157aaaa", "a1b2c3d4-5c39-4aaa-9b20-dea10bdcf8e3", "Pass#word-7!")
CRED = Credential(Secret(VALUES[0]), Secret(VALUES[1]), Secret(VALUES[2]))
NAMES = env_names()

other_lines = st.lists(
    st.one_of(
        st.from_regex(r"#[ -~]{0,30}", fullmatch=True),
        st.from_regex(r"[A-Z][A-Z0-9_]{0,10}=[!-~]{0,20}", fullmatch=True).filter(
            lambda line: not line.startswith("KUCOIN_API_")
        ),
        st.just(""),
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(other_lines, st.booleans())
def test_an_env_file_keeps_every_other_line(lines: list[str], present: bool) -> None:
    before = lines + (["KUCOIN_API_KEY=old"] if present else [])
    text = "\n".join(before) + ("\n" if before else "")
    after = env_render(text, NAMES, VALUES)
    assert [line for line in after.splitlines() if not line.startswith("KUCOIN_API_")] == lines
    assert env_read(after, NAMES) == VALUES
    assert env_render(after, NAMES, VALUES) == after  # a second delivery changes nothing


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    st.sampled_from(["ccxt-json", "freqtrade", "passivbot"]),
)
def test_a_json_file_keeps_every_other_key_in_order(doc: dict[str, object], kind: str) -> None:
    consumer = Consumer(
        "k", "c", ConsumerKind(kind), target="/x", user="u1" if kind == "passivbot" else ""
    )
    holder = {"ccxt-json": None, "freqtrade": "exchange", "passivbot": "u1"}[kind]
    if holder is not None:
        doc.pop(holder, None)
    if kind == "ccxt-json":
        for field in ("apiKey", "secret", "password"):
            doc.pop(field, None)
    text = json.dumps(doc, indent=2)
    after = json.loads(json_render(text, consumer, VALUES))
    assert json_read(json.dumps(after), consumer) == VALUES
    kept = {k: v for k, v in after.items() if k not in (holder, "apiKey", "secret", "password")}
    assert list(kept) == list(doc) and kept == doc


def test_values_stay_strings_in_json_even_when_they_look_like_numbers() -> None:
    consumer = Consumer("k", "c", ConsumerKind.FREQTRADE, target="/x")
    digits = ("123456789012345678901234", "1e5", "0012345")
    doc = json.loads(json_render("{}", consumer, digits))
    assert doc["exchange"] == {
        "name": "kucoin",
        "key": digits[0],
        "secret": "1e5",
        "password": "0012345",
    }


def test_freqtrade_env_refuses_a_value_it_would_turn_into_a_number() -> None:
    with pytest.raises(FormatProblem, match="FREQTRADE__EXCHANGE__KEY"):
        exec_env(("123456789012345678901234", *VALUES[1:]), "freqtrade", "X")
    assert exec_env(VALUES, "freqtrade", "X")["FREQTRADE__EXCHANGE__PASSWORD"] == VALUES[2]


def test_env_values_that_env_files_cannot_carry_are_refused() -> None:
    with pytest.raises(FormatProblem, match="KUCOIN_API_PASSPHRASE"):
        env_render("", NAMES, (*VALUES[:2], "has$dollar"))


def envfile(path: Path, reload: str = "") -> Consumer:
    return Consumer("k", "c", ConsumerKind.ENVFILE, target=str(path), reload=reload)


def test_a_delivery_is_atomic_private_and_keeps_the_group(tmp_path: Path) -> None:
    path = tmp_path / "bot.env"
    path.write_text("# mine\nTZ=UTC\n")
    path.chmod(0o644)
    group = path.stat().st_gid
    outcome = deliver(envfile(path), CRED, now_utc())
    assert outcome.status is DeliveryStatus.DELIVERED and outcome.fingerprint == "aaaa"
    assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_gid == group
    assert path.read_text().startswith("# mine\nTZ=UTC\n")
    assert read_target(envfile(path)) == VALUES
    assert [p.name for p in tmp_path.iterdir()] == ["bot.env"]  # no temp file left
    for value in VALUES:
        assert value not in outcome.detail


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    link = tmp_path / "link.env"
    link.symlink_to(real)
    outcome = deliver(envfile(link), CRED, now_utc())
    assert outcome.status is DeliveryStatus.FAILED and "symbolic link" in outcome.detail
    assert real.read_text() == "A=1\n" and link.is_symlink()


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_another_users_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "theirs.env"
    path.write_text("A=1\n")
    os.chown(path, 12345, 12345)
    outcome = deliver(envfile(path), CRED, now_utc())
    assert outcome.status is DeliveryStatus.FAILED and "uid 12345" in outcome.detail
    assert path.read_text() == "A=1\n"


def test_plain_json_only_a_file_with_comments_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = '{\n  // freqtrade allows comments\n  "dry_run": true\n}\n'
    path.write_text(text)
    consumer = Consumer("k", "c", ConsumerKind.FREQTRADE, target=str(path))
    outcome = deliver(consumer, CRED, now_utc())
    assert outcome.status is DeliveryStatus.FAILED and "not plain JSON" in outcome.detail
    assert path.read_text() == text


def test_a_command_consumer_reads_json_on_stdin_never_argv(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = tmp_path / "take.py"
    script.write_text(
        "import json, sys\n"
        f"json.dump({{'stdin': json.load(sys.stdin), 'argv': sys.argv}}, open({str(out)!r}, 'w'))\n"
    )
    consumer = Consumer("k", "c", ConsumerKind.COMMAND, target=f"{sys.executable} {script}")
    outcome = deliver(consumer, CRED, now_utc())
    assert outcome.status is DeliveryStatus.DELIVERED, outcome.detail
    got = json.loads(out.read_text())
    assert (
        got["stdin"]["api_key"],
        got["stdin"]["api_secret"],
        got["stdin"]["passphrase"],
    ) == VALUES
    assert not any(v in json.dumps(got["argv"]) for v in VALUES)


def test_a_failing_command_or_reload_is_recorded_with_its_status(tmp_path: Path) -> None:
    fails = Consumer(
        "k", "c", ConsumerKind.COMMAND, target=f"{sys.executable} -c 'raise SystemExit(3)'"
    )
    outcome = deliver(fails, CRED, now_utc())
    assert outcome.status is DeliveryStatus.FAILED and "status 3" in outcome.detail
    reload = f"{sys.executable} -c 'raise SystemExit(4)'"
    outcome = deliver(envfile(tmp_path / "a.env", reload=reload), CRED, now_utc())
    assert outcome.status is DeliveryStatus.RELOAD_FAILED and "status 4" in outcome.detail
    assert read_target(envfile(tmp_path / "a.env")) == VALUES  # written all the same
