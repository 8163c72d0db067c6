"""accounts.toml (the migration and import-registry input): round trip and strict validation
with key paths; ``Home.update_registry`` on kutui.db: crash safety, no lost updates."""

from __future__ import annotations

import os
import random
import signal
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.errors import RegistryError
from kutui.model import (
    PERMISSIONS,
    Account,
    ApiKey,
    CheckResult,
    KeyRef,
    PermissionNote,
    Registry,
    RemoteState,
    Status,
    SubAccount,
)
from kutui.store.home import Home
from kutui.store.registry import dump_registry, parse_registry, read_registry, write_registry

PATH = Path("/h/accounts.toml")
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,10}", fullmatch=True)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
opt_int = st.none() | st.integers(-(2**63), 2**63 - 1)


@st.composite
def registries(draw: st.DrawFn) -> Registry:
    account_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    accounts = [
        Account(
            name=name,
            api_url=draw(st.sampled_from(["https://api.kucoin.com", "http://127.0.0.1:8600"])),
            uid=draw(opt_int),
            remark=draw(texts),
            subaccounts=[
                SubAccount(s, draw(opt_int), draw(st.sampled_from(RemoteState)), draw(texts))
                for s in draw(st.lists(names, max_size=2, unique=True))
            ],
        )
        for name in account_names
    ]
    keys: list[ApiKey] = []
    for index in range(draw(st.integers(0, 4))):
        account = draw(st.sampled_from(accounts))
        sub = draw(st.sampled_from(["", *[s.name for s in account.subaccounts]]))
        check = draw(
            st.none()
            | st.builds(
                CheckResult,
                status=st.sampled_from(Status),
                checked_at=moments,
                code=texts,
                http_status=st.integers(0, 599),
                message=texts,
                latency_ms=st.floats(0, 1e6, allow_nan=False),
                permissions=st.lists(st.sampled_from(PERMISSIONS)).map(tuple),
                api_version=st.none() | st.sampled_from([1, 2, 3]),
                uid=opt_int,
                is_master=st.none() | st.booleans(),
                created_at=st.none() | moments,
                clock_offset_ms=opt_int,
                rate_limit_reset_ms=opt_int,
            )
        )
        keys.append(
            ApiKey(
                id=f"id{index}",
                ref=KeyRef(account.name, sub, f"k{index}"),
                fingerprint=draw(st.from_regex(r"[0-9a-f]{4}", fullmatch=True)),
                api_version=draw(st.sampled_from([1, 2, 3])),
                created_at=draw(st.none() | moments),
                added_at=draw(st.none() | moments),
                expire_days=draw(st.sampled_from([-1, 30, 90])),
                permissions_seen=tuple(draw(st.lists(st.sampled_from(PERMISSIONS), max_size=3))),
                remark=draw(texts),
                remote=draw(st.sampled_from(RemoteState)),
                has_secret=draw(st.booleans()),
                note=PermissionNote(
                    draw(texts),
                    tuple(draw(st.lists(st.sampled_from(PERMISSIONS), max_size=2))),
                    tuple(draw(st.lists(texts, max_size=2))),
                ),
                last_check=check,
            )
        )
    return Registry(accounts=accounts, keys=keys)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_round_trip(registry: Registry) -> None:
    data = dump_registry(registry)
    assert parse_registry(PATH, data) == registry
    assert b"None" not in data.replace(b'"None"', b"")


def test_datetimes_are_toml_datetimes() -> None:
    when = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    registry = Registry(
        accounts=[Account("main")], keys=[ApiKey("i", KeyRef("main", "", "k"), added_at=when)]
    )
    doc = tomllib.loads(dump_registry(registry).decode())
    assert doc["keys"][0]["added_at"] == when
    assert "created_at" not in doc["keys"][0]  # None is left out, never written
    assert doc["schema_version"] == 1


def _error(text: str) -> str:
    with pytest.raises(RegistryError) as info:
        parse_registry(PATH, text.encode())
    return str(info.value)


GOOD_KEY = 'id = "a"\nref = "main/k"\n'
HEAD = 'schema_version = 1\n[[accounts]]\nname = "main"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD + "[[keys]]\n" + GOOD_KEY + "created_at = 2024-01-01\n",
            "keys[0].created_at: must be a date-time",
        ),
        (
            HEAD + "[[keys]]\n" + GOOD_KEY + "created_at = 2024-01-01T00:00:00\n",
            "keys[0].created_at: must include a time zone",
        ),
        (
            HEAD
            + ("[[keys]]\n" + 'id = "x{0}"\nref = "main/k{0}"\n').format(0)
            + "[[keys]]\n"
            + 'id = "y"\nref = "main/y"\napi_version = "3"\n',
            "keys[1].api_version: must be an integer",
        ),
        (HEAD + "[[keys]]\n" + GOOD_KEY + "colour = 1\n", "keys[0].colour: unknown key"),
        (HEAD + "[[keys]]\n" + 'id = "a"\n', "keys[0].ref: is required"),
        (
            HEAD + "[[keys]]\n" + 'id = "a"\nref = "main"\n',
            "keys[0].ref: 'main' is not ACCOUNT/LABEL",
        ),
        (HEAD + "[[keys]]\n" + 'id = "a"\nref = "other/k"\n', "keys[0].ref: names account 'other'"),
        (HEAD + "[[keys]]\n" + GOOD_KEY + "[[keys]]\n" + GOOD_KEY, "keys[1].id: duplicate key id"),
        (HEAD + "[[keys]]\n" + GOOD_KEY + 'remote = "gone"\n', "keys[0].remote: must be one of"),
        (
            HEAD + "[[keys]]\n" + GOOD_KEY + '[keys.last_check]\nstatus = "ok"\n',
            "keys[0].last_check.checked_at: is required",
        ),
        (
            HEAD + "[[keys]]\n" + GOOD_KEY + "[keys.note]\nconsumers = [1]\n",
            "keys[0].note.consumers[0]: must be a string",
        ),
        (
            HEAD + '[[accounts.subaccounts]]\nname = "a b"\n',
            "accounts[0].subaccounts[0].name: must be 1-64",
        ),
        (HEAD + 'api_url = "https://evil.example/steal"\n', "accounts[0].api_url: must be http(s)"),
        ("schema_version = 2\n", "schema_version: is 2: this file was written by a newer kutui"),
        ("accounts = []\n", "schema_version: is required"),
        (
            'schema_version = 1\n[[accounts]]\nname = "a"\n[[accounts]]\nname = "a"\n',
            "accounts[1].name: duplicate account",
        ),
        ("schema_version = 1\nkeys = 3\n", "keys: must be an array"),
        ("schema_version = 1\n[x\n", "is not valid TOML"),
    ],
)
def test_validation_names_file_and_key(text: str, expected: str) -> None:
    message = _error(text)
    assert message.startswith(f"{PATH}: ")
    assert expected in message


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_registry(tmp_path / "accounts.toml") == Registry()


def test_written_mode_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    old = os.umask(0)
    try:
        write_registry(path, Registry(accounts=[Account("main")]))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600


def test_failed_update_writes_nothing(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    home.update_registry(lambda r: r.accounts.append(Account("main")))
    before = home.registry()

    def broken(registry: Registry) -> None:
        registry.accounts.append(Account("second"))
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        home.update_registry(broken)
    assert home.registry() == before


# --------------------------------------------------------------------------- processes


def _expected(counter: int) -> Registry:
    """The registry after ``counter`` saves by ``_bump``: fully determined by the counter."""
    account = Account("main", remark=str(counter))
    keys = [
        ApiKey(f"id{n}", KeyRef("main", "", f"k{n}"), fingerprint=f"{n % 10000:04d}")
        for n in range(1, counter + 1)
    ]
    return Registry(accounts=[account] if counter else [], keys=keys)


def _bump(registry: Registry) -> None:
    if not registry.accounts:
        registry.accounts.append(Account("main"))
    counter = int(registry.accounts[0].remark or "0") + 1
    registry.accounts[0].remark = str(counter)
    registry.keys.append(
        ApiKey(
            f"id{counter}", KeyRef("main", "", f"k{counter}"), fingerprint=f"{counter % 10000:04d}"
        )
    )


def _clear(registry: Registry) -> None:
    registry.keys.clear()
    registry.accounts.clear()


def _child(work: object) -> int:
    """Fork a process running ``work()``; it never returns into pytest."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            work()  # type: ignore[operator]
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


@pytest.mark.slow
def test_sigkill_during_saves_leaves_before_or_after(tmp_path: Path) -> None:
    """~200 writers killed at random moments: kutui.db always reads as the state before or after
    the interrupted save (never a mix, never a step back)."""
    rng = random.Random(20260525)
    home = Home.load(tmp_path)
    last = 0
    advanced = 0
    for _ in range(200):

        def writer() -> None:
            while True:
                home.update_registry(_bump)

        pid = _child(writer)
        time.sleep(rng.uniform(0.002, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        registry = home.registry()
        counter = int(registry.accounts[0].remark) if registry.accounts else 0
        assert counter >= last
        assert registry == _expected(counter)
        advanced += counter > last
        last = counter
        if counter > 150:  # keep each save small: start over
            home.update_registry(_clear)
            last = 0
    assert advanced >= 20  # saves really were happening when the kills landed
    Home.load(tmp_path)  # start-up clean-up copes with whatever temp files were left


def test_two_processes_lose_no_update(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    rounds = 40

    def writer() -> None:
        for _ in range(rounds):
            home.update_registry(_bump)

    pids = [_child(writer), _child(writer)]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert home.registry() == _expected(2 * rounds)
