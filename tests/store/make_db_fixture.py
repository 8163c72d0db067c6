"""Write tests/store/data/home-toml/ (accounts.toml + history.json) with today's TOML code.

The migration tests read these committed files as a home written by a kutui from before
kutui.db. Run once (again only if the TOML format changes): .venv/bin/python -m
tests.store.make_db_fixture. Registry and history only: no vault, no secret.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kutui.model import (
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
from kutui.store.history import append_history
from kutui.store.home import Home
from kutui.store.learn import apply_results

FIXTURE = Path(__file__).parent / "data" / "home-toml"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def registry() -> Registry:
    return Registry(
        accounts=[
            Account(
                "main",
                remark="company master",
                subaccounts=[
                    SubAccount("grid", remark="grid bots"),
                    SubAccount("arb", uid=3003, remote=RemoteState.PRESENT),
                ],
            ),
            Account("sandbox", api_url="http://127.0.0.1:8600"),
        ],
        keys=[
            ApiKey(
                "0001aaaa",
                KeyRef("main", "", "admin"),
                fingerprint="a1b2",
                added_at=T0 - timedelta(days=90),
                expire_days=-1,
                has_secret=True,
                note=PermissionNote("treasury moves", ("General", "Transfer"), ("ops-laptop",)),
            ),
            ApiKey(
                "0002bbbb",
                KeyRef("main", "grid", "bot"),
                fingerprint="c3d4",
                added_at=T0 - timedelta(days=40),
                expire_days=90,
                has_secret=True,
                note=PermissionNote("grid bot", ("General", "Spot"), ("host-a", "host-b")),
            ),
            ApiKey(
                "0003cccc",
                KeyRef("main", "arb", "old"),
                fingerprint="e5f6",
                added_at=T0 - timedelta(days=400),
                remark="retired",
            ),
            ApiKey("0004dddd", KeyRef("sandbox", "", "demo"), fingerprint="0a0b"),
        ],
    )


def results() -> list[list[tuple[str, CheckResult]]]:
    """Three check runs: a history of three entries for most keys, two last-check shapes."""
    runs: list[list[tuple[str, CheckResult]]] = []
    for run in range(3):
        at = T0 + timedelta(hours=run)
        runs.append(
            [
                (
                    "0001aaaa",
                    CheckResult(
                        Status.OK,
                        at,
                        code="200000",
                        http_status=200,
                        latency_ms=40.5 + run,
                        permissions=("General", "Transfer"),
                        ip_whitelist="10.0.*.*",
                        api_version=3,
                        uid=1001,
                        created_at=T0 - timedelta(days=91),
                    ),
                ),
                (
                    "0002bbbb",
                    CheckResult(
                        Status.OK,
                        at,
                        code="200000",
                        http_status=200,
                        latency_ms=55.0,
                        permissions=("General", "Spot"),
                        api_version=2,
                        uid=2002,
                        is_master=False,
                        sub_name="grid",
                    ),
                ),
                (
                    "0003cccc",
                    CheckResult(
                        Status.INVALID_KEY,
                        at,
                        code="400003",
                        http_status=401,
                        message="KC-API-KEY not exists",
                        latency_ms=30.0,
                    ),
                ),
            ]
        )
    return runs


def main() -> None:
    if FIXTURE.exists():
        shutil.rmtree(FIXTURE)
    FIXTURE.mkdir(parents=True)
    home = Home.load(FIXTURE)
    wanted = registry()

    def fill(reg: Registry) -> None:
        reg.accounts, reg.keys = wanted.accounts, wanted.keys

    home.update_registry(fill)
    for batch in results():  # as kutui.checks.results.ResultSaver.flush saves a batch

        def record(reg: Registry, batch: list[tuple[str, CheckResult]] = batch) -> int:
            return apply_results(reg, batch)

        home.update_registry(record)
        append_history(home.paths.history, batch)
    for leftover in FIXTURE.glob("*.lock"):
        leftover.unlink()
    print(f"wrote {sorted(p.name for p in FIXTURE.iterdir())} in {FIXTURE}")


if __name__ == "__main__":
    main()
