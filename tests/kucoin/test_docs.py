"""The README's diagnosis table and docs/kucoin.md's tables say what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest

from kutui.kucoin.diagnosis import ADVICE, CODE_STATUS, SUCCESS
from kutui.kucoin.simulator.exchange import ERRORS, ROUTES

ROOT = Path(__file__).resolve().parents[2]


def diagnosis_rows() -> list[str]:
    rows = []
    for code, status in CODE_STATUS.items():
        if code != SUCCESS:
            meaning, fix = ADVICE[status]
            rows.append(f"| `{code}` | `{status.value}` | {meaning} | {fix} |")
    return rows


def code_rows() -> list[str]:
    return [
        f"| `{code}` | {status} | {msg} | {'seen' if seen else 'UNCONFIRMED: default'} |"
        for code, (status, msg, seen) in ERRORS.items()
    ]


def route_rows() -> list[str]:
    return [
        f"| `{method} {path}` | {route.weight} | {'Management' if route.private else 'Public'} |"
        for path, methods in ROUTES.items()
        for method, route in methods.items()
    ]


@pytest.mark.parametrize(
    ("doc", "rows"),
    [
        ("README.md", diagnosis_rows),
        ("docs/kucoin.md", diagnosis_rows),
        ("docs/kucoin.md", code_rows),
        ("docs/kucoin.md", route_rows),
    ],
)
def test_the_documented_tables_match_the_code(doc: str, rows: object) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = [row for row in rows() if row not in text]  # type: ignore[operator]
    assert missing == [], f"{doc} lacks (or has another wording of) these rows"
