"""Hostile TOML in every file kutui reads (docs/security.md, "What the tests try", C), through the
way the user meets it.

Files: ``config.toml`` and ``accounts.toml`` (``kutui key list``), a rotation checklist
(``kutui rotate --list``), the app state ``state.toml`` (its reader), a simulator state file
(``load_state``) and a user theme (``load_theme_dir``). For each: bad syntax, duplicate keys,
non-UTF-8 bytes, NUL, deeply nested arrays and inline tables, NaN/inf, a wrong type, a missing
required key, a future ``schema_version``; a BOM and CRLF line ends must read like the plain file.

Each refusal must be one clear message that starts with the file's path and names a key or a line,
exit code 2 (CLI), no traceback, and nothing on disk changed (bytes, mode, mtime).
"""

from __future__ import annotations

import io
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kutui.cli import main
from kutui.errors import FileProblem
from kutui.model import Account, ApiKey, CheckResult, KeyRef, Registry, Status, SubAccount
from kutui.rotation import sub_flow
from kutui.rotation.store import RotationStore
from kutui.store.registry import dump_registry
from tests.faults.disk import changes, snapshot

REPO = Path(__file__).resolve().parents[2]

Outcome = tuple[str, str | None]  # ("ok", None) or ("refused", message)


@dataclass(frozen=True)
class Kind:
    name: str
    relpath: str  # under the home
    base: Callable[[], str]
    load: Callable[[Path, Path], Outcome]  # (home, file) -> outcome
    wrong_type: tuple[str, str] | None  # (regex on the base text, replacement)
    missing: str | None  # a regex matching a required line to delete
    future: tuple[str, str] | None
    float_key: tuple[str, str] | None  # (regex, replacement with {value})


def _cli(home: Path, *argv: str) -> Outcome:
    old_stdin, old_out, old_err = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
    try:
        code = main(["--home", str(home), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old_stdin, old_out, old_err
    text = err.getvalue()
    assert "Traceback" not in text
    if code == 0:
        return "ok", None
    assert code == 2, f"exit {code}: {text}"
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"more than one line: {text}"
    assert lines[0].startswith("kutui: ")
    return "refused", lines[0].removeprefix("kutui: ")


def _direct(reader: Callable[[Path], object]) -> Callable[[Path, Path], Outcome]:
    def load(home: Path, path: Path) -> Outcome:
        try:
            reader(path)
        except FileProblem as exc:
            return "refused", str(exc)
        return "ok", None

    return load


def _accounts_text() -> str:
    check = CheckResult(
        Status.OK,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        latency_ms=12.5,
        permissions=("General",),
    )
    registry = Registry(
        [Account("main", uid=1001, subaccounts=[SubAccount("bot1sub", 2001)])],
        [
            ApiKey(
                "id1",
                KeyRef("main", "bot1sub", "grid"),
                "d3eb",
                last_check=check,
                added_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ],
    )
    return dump_registry(registry).decode()


def _checklist_text() -> str:
    return _checklist_store_text()


def _checklist_store_text() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = RotationStore(Path(tmp) / "rotations")
        store.save(sub_flow.new_checklist("260101000000-abcd", "k", "main/s/k", sub_name="s"))
        return store.path_for("260101000000-abcd").read_text()


CONFIG = """\
# kutui settings
[checks]
concurrency = 64
timeout_seconds = 10.0

[vault]
unlock = "passphrase"
"""

SIM_STATE = """\
[server]
seed = 3
timeout_rate = 0.0

[[users]]
uid = 1001

[[keys]]
uid = 1001
api_key = "6705f5c311545b000157d3eb"
api_secret = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
passphrase = "Passphrase-1"
created_at = 1700000000000
"""


def _state_reader(path: Path) -> object:
    from kutui.store.state import read_state

    return read_state(path)


def _sim_reader(path: Path) -> object:
    from kutui.kucoin.simulator import load_state

    return load_state(path)


def _theme_load(home: Path, path: Path) -> Outcome:
    from kutui.tui.themes import load_theme_dir

    themes, failed = load_theme_dir(path.parent)
    if failed:
        assert len(failed) == 1
        return "refused", str(failed[0])
    assert len(themes) == 1
    return "ok", None


KINDS = [
    Kind(
        "config",
        "config.toml",
        lambda: CONFIG,
        lambda home, path: _cli(home, "key", "list"),
        (r"concurrency = \d+", 'concurrency = "many"'),
        None,
        None,
        (r"timeout_seconds = [\d.]+", "timeout_seconds = {value}"),
    ),
    Kind(
        "accounts",
        "accounts.toml",
        _accounts_text,
        lambda home, path: _cli(home, "key", "list"),
        (r"uid = 1001", 'uid = "1001"'),
        r'(?m)^ref = "main/bot1sub/grid"\n|^label = "grid"\n',
        (r"schema_version = 1", "schema_version = 99"),
        (r"latency_ms = [\d.]+", "latency_ms = {value}"),
    ),
    Kind(
        "checklist",
        "rotations/260101000000-abcd.toml",
        _checklist_text,
        lambda home, path: _cli(home, "rotate", "--list"),
        (r"expire_days = -?\d+", "expire_days = [1]"),
        r'(?m)^key_id = "k"\n',
        (r"schema_version = 1", "schema_version = 99"),
        None,
    ),
    Kind(
        "app state",
        "state.toml",
        lambda: 'schema_version = 1\ntheme = "kucoin-dark"\n',
        _direct(_state_reader),
        (r'theme = "kucoin-dark"', "theme = 7"),
        None,
        (r"schema_version = 1", "schema_version = 99"),
        None,
    ),
    Kind(
        "simulator state",
        "sim.toml",
        lambda: SIM_STATE,
        _direct(_sim_reader),
        (r"seed = 3", 'seed = "three"'),
        r"(?m)^uid = 1001\n(?=api_key)",
        None,
        (r"timeout_rate = 0.0", "timeout_rate = {value}"),
    ),
    Kind(
        "theme",
        "themes/mine.toml",
        lambda: (
            (REPO / "kutui" / "data" / "themes" / "kucoin-dark.toml")
            .read_text()
            .replace('name = "kucoin-dark"', 'name = "mine"')
        ),
        _theme_load,
        (r'(?m)^primary = "[^"]+"', "primary = 12"),
        r'(?m)^primary = "[^"]+"\n',
        None,
        None,
    ),
]


def _plant(home: Path, kind: Kind, data: bytes) -> Path:
    path = home / kind.relpath
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    root = tmp_path / "home"
    root.mkdir(mode=0o700)
    return root


def _refused(home: Path, kind: Kind, data: bytes, *, names: str) -> str:
    """Plant ``data``, load it, assert one clear refusal naming the file and ``names``."""
    path = _plant(home, kind, data)
    before = snapshot(home)
    outcome, message = kind.load(home, path)
    assert changes(before, snapshot(home)) == [], "a refused file changed something on disk"
    assert outcome == "refused", f"{kind.name}: accepted"
    assert message is not None
    assert message.startswith(str(path)), message
    assert re.search(names, message), message
    assert "Traceback" not in message and "\n" not in message
    return message


def _accepted(home: Path, kind: Kind, data: bytes) -> None:
    path = _plant(home, kind, data)
    assert kind.load(home, path) == ("ok", None)


LINE = r"line \d+"
BY_NAME = [pytest.param(k, id=k.name) for k in KINDS]


@pytest.mark.parametrize("kind", BY_NAME)
def test_the_valid_base_file_loads(home: Path, kind: Kind) -> None:
    _accepted(home, kind, kind.base().encode())


def test_the_shipped_example_config_loads(home: Path) -> None:
    example = (REPO / "kutui" / "data" / "config.example.toml").read_bytes()
    _accepted(home, KINDS[0], example)


@pytest.mark.parametrize("kind", BY_NAME)
def test_invalid_syntax_names_the_line(home: Path, kind: Kind) -> None:
    _refused(home, kind, ("broken = = 1\n" + kind.base()).encode(), names=LINE)


@pytest.mark.parametrize("kind", BY_NAME)
def test_a_duplicate_key_names_the_line(home: Path, kind: Kind) -> None:
    text = kind.base()
    first = re.search(r"(?m)^[a-z_]+ = .*\n", text)  # a real (uncommented) key
    assert first is not None
    dup = text[: first.end()] + first.group(0) + text[first.end() :]
    _refused(home, kind, dup.encode(), names=LINE)


@pytest.mark.parametrize("kind", BY_NAME)
def test_non_utf8_bytes_are_named(home: Path, kind: Kind) -> None:
    _refused(home, kind, b"# caf\xe9\n" + kind.base().encode(), names="UTF-8|utf-8")


@pytest.mark.parametrize("kind", BY_NAME)
def test_a_nul_byte_names_the_line(home: Path, kind: Kind) -> None:
    _refused(home, kind, b"# a\x00b\n" + kind.base().encode(), names=LINE)


@pytest.mark.parametrize("kind", BY_NAME)
@pytest.mark.parametrize("nest", ["[", "{x="], ids=["arrays", "inline-tables"])
def test_deep_nesting_is_one_clear_message(home: Path, kind: Kind, nest: str) -> None:
    close = "]" if nest == "[" else "}"
    deep = "deep = " + nest * 5000 + ("1" if nest != "[" else "") + close * 5000 + "\n"
    _refused(home, kind, (deep + kind.base()).encode(), names=r"deep|nest|recursion|line \d+")


@pytest.mark.parametrize("kind", BY_NAME)
def test_a_bom_reads_like_the_plain_file(home: Path, kind: Kind) -> None:
    _accepted(home, kind, b"\xef\xbb\xbf" + kind.base().encode())


@pytest.mark.parametrize("kind", BY_NAME)
def test_crlf_line_ends_read_like_the_plain_file(home: Path, kind: Kind) -> None:
    _accepted(home, kind, kind.base().replace("\n", "\r\n").encode())


@pytest.mark.parametrize("kind", BY_NAME)
def test_a_huge_file_is_read_or_refused_clearly(home: Path, kind: Kind) -> None:
    """32 MiB of comments: either read (it is valid) or refused by a size cap, never a crash."""
    padding = ("# " + "x" * 1022 + "\n") * (32 * 1024)
    path = _plant(home, kind, (kind.base() + padding).encode())
    outcome, message = kind.load(home, path)
    if outcome == "refused":
        assert message is not None and message.startswith(str(path)), message


def _edit(kind: Kind, pattern: str, replacement: str) -> bytes:
    text, count = re.subn(pattern, replacement, kind.base(), count=1)
    assert count == 1, f"{kind.name}: {pattern!r} not in the base file"
    return text.encode()


@pytest.mark.parametrize("kind", [pytest.param(k, id=k.name) for k in KINDS if k.wrong_type])
def test_a_wrong_type_names_the_key(home: Path, kind: Kind) -> None:
    assert kind.wrong_type is not None
    pattern, replacement = kind.wrong_type
    key = replacement.split(" =")[0]
    _refused(home, kind, _edit(kind, pattern, replacement), names=re.escape(key))


@pytest.mark.parametrize("kind", [pytest.param(k, id=k.name) for k in KINDS if k.missing])
def test_a_missing_required_key_is_named(home: Path, kind: Kind) -> None:
    assert kind.missing is not None
    removed = re.search(kind.missing, kind.base())
    assert removed is not None
    key = removed.group(0).split(" =")[0]
    _refused(home, kind, _edit(kind, kind.missing, ""), names=re.escape(key))


@pytest.mark.parametrize("kind", [pytest.param(k, id=k.name) for k in KINDS if k.future])
def test_a_future_schema_version_is_refused(home: Path, kind: Kind) -> None:
    assert kind.future is not None
    _refused(home, kind, _edit(kind, *kind.future), names="schema_version")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("kind", [pytest.param(k, id=k.name) for k in KINDS if k.float_key])
def test_nan_and_infinity_are_refused_by_key(home: Path, kind: Kind, value: str) -> None:
    assert kind.float_key is not None
    pattern, replacement = kind.float_key
    key = replacement.split(" =")[0]
    _refused(home, kind, _edit(kind, pattern, replacement.format(value=value)), names=key)


def test_a_naive_datetime_in_accounts_is_refused_or_read_as_utc(home: Path) -> None:
    kind = KINDS[1]
    data = _edit(kind, r"added_at = (\S+ \S+)\+00:00", r"added_at = \1")
    path = _plant(home, kind, data)
    outcome, message = kind.load(home, path)
    if outcome == "refused":
        assert message is not None and "added_at" in message, message
    else:
        from kutui.store.registry import read_registry

        key = read_registry(path).keys[0]
        assert key.added_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_unknown_step_and_slot_names_are_named(home: Path) -> None:
    kind = KINDS[2]
    _refused(home, kind, _edit(kind, r'id = "plan"', 'id = "teleport"'), names=r"steps\[0\]\.id")
    _refused(home, kind, _edit(kind, r'status = "pending"', 'status = "dreaming"'), names=r"status")


def test_nan_is_not_silently_kept() -> None:
    """Guard for the NaN tests above: tomllib really yields NaN for ``nan``."""
    import tomllib

    assert math.isnan(tomllib.loads("a = nan")["a"])
