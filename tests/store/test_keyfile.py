"""Key import files: TOML, CSV and JSON parsing and the per-row verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from kutui.errors import ImportFileError
from kutui.model import Account, ApiKey, KeyRef, Registry
from kutui.store.keyfile import Outcome, plan_import, read_import_file

KEY = "6705f5c311545b000157d3eb"
SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"
PASS = "Ab12345678"
GOOD = {"ref": "main/bot1", "api_key": KEY, "api_secret": SECRET, "passphrase": PASS}


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "k.csv",
        "ref,api_key,api_secret,passphrase,api_version,note\n"
        f"main/bot1,{KEY},{SECRET},{PASS},2,grid bot\n"
        "\n"
        f"main/bot2,{'z' * 24},{SECRET},{PASS},,\n",
    )
    rows = read_import_file(path)
    assert [r.where for r in rows] == ["line 2", "line 4"]
    assert rows[0].ref == KeyRef("main", "", "bot1") and rows[0].api_version == 2
    assert rows[0].note == "grid bot" and rows[0].api_key.reveal() == KEY
    assert rows[0].problem == "" and rows[0].fingerprint == "d3eb"
    assert "24 lowercase hex" in rows[1].problem


def test_csv_header_problems(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="line 1: missing column 'passphrase'"):
        read_import_file(_file(tmp_path, "a.csv", "ref,api_key,api_secret\n"))
    with pytest.raises(ImportFileError, match="line 1: unknown column 'secret'"):
        read_import_file(_file(tmp_path, "b.csv", "ref,api_key,secret,passphrase\n"))
    with pytest.raises(ImportFileError, match="must be a header") as info:
        read_import_file(_file(tmp_path, "d.csv", f"{KEY},{SECRET},{PASS},main/x\n"))
    assert PASS not in str(info.value) and KEY not in str(info.value)
    with pytest.raises(ImportFileError, match="is empty"):
        read_import_file(_file(tmp_path, "c.csv", ""))


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = _file(tmp_path, "k.csv", f"ref,api_key,api_secret,passphrase\nmain/a,{KEY}\n")
    (row,) = read_import_file(path)
    assert row.where == "line 2" and "has 2 fields" in row.problem


def test_toml(tmp_path: Path) -> None:
    path = _file(tmp_path, "k.toml", tomli_w.dumps({"keys": [GOOD, {**GOOD, "api_version": 7}]}))
    rows = read_import_file(path)
    assert rows[0].problem == ""
    assert (
        rows[1].where.startswith("entry 2") and "api_version must be 1, 2 or 3" in rows[1].problem
    )


def test_toml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"not valid TOML.*line 1"):
        read_import_file(_file(tmp_path, "k.toml", "[[keys]\n"))


def test_json_forms(tmp_path: Path) -> None:
    assert read_import_file(_file(tmp_path, "a.json", json.dumps([GOOD])))[0].problem == ""
    assert (
        read_import_file(_file(tmp_path, "b.json", json.dumps({"keys": [GOOD]})))[0].problem == ""
    )
    with pytest.raises(ImportFileError, match="JSON list"):
        read_import_file(_file(tmp_path, "c.json", json.dumps({"k": 1})))
    with pytest.raises(ImportFileError, match="line 1, column"):
        read_import_file(_file(tmp_path, "d.json", "[1,"))


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({**GOOD, "extra": "x"}, "unknown field 'extra'"),
        ({k: v for k, v in GOOD.items() if k != "api_secret"}, "missing api_secret"),
        ({**GOOD, "passphrase": 12345678}, "passphrase must be text"),
        ({**GOOD, "ref": "a/b/c/d"}, "ref is not ACCOUNT/LABEL"),
        ({**GOOD, "ref": SECRET}, "ref is not ACCOUNT/LABEL"),
        ({**GOOD, "passphrase": "a b c d e f"}, "must not contain spaces"),
        ("just text", "is not a table/object"),
    ],
)
def test_row_problems(tmp_path: Path, record: object, problem: str) -> None:
    (row,) = read_import_file(_file(tmp_path, "k.json", json.dumps([record])))
    assert problem in row.problem
    for secret in (KEY, SECRET, PASS):
        assert secret not in row.problem and secret not in row.ref_text


def test_format_guessing_without_suffix(tmp_path: Path) -> None:
    assert read_import_file(_file(tmp_path, "a", json.dumps([GOOD])))[0].problem == ""
    assert read_import_file(_file(tmp_path, "b", tomli_w.dumps({"keys": [GOOD]})))[0].problem == ""
    csv_text = f"ref,api_key,api_secret,passphrase\nmain/x,{KEY},{SECRET},{PASS}\n"
    assert read_import_file(_file(tmp_path, "c", csv_text))[0].problem == ""


def test_plan_marks_duplicates_and_present_keys(tmp_path: Path) -> None:
    rows = read_import_file(
        _file(
            tmp_path, "k.json", json.dumps([GOOD, GOOD, {**GOOD, "ref": "main/old"}, {"ref": "x"}])
        )
    )
    old = ApiKey("i", KeyRef("main", "", "old"), has_secret=True)
    registry = Registry(accounts=[Account("main")], keys=[old])
    outcomes = [(r.outcome, r.reason) for r in plan_import(rows, registry)]
    assert outcomes[0] == (Outcome.ADDED, "")
    assert outcomes[1][0] is Outcome.REJECTED and "first at entry 1" in outcomes[1][1]
    assert outcomes[2] == (Outcome.SKIPPED, "main/old already exists")
    assert outcomes[3][0] is Outcome.REJECTED
    # A listed key without a secret (kutui import's metadata, an interrupted import) is filled in.
    old.has_secret = False
    assert plan_import(rows, registry)[2].outcome is Outcome.ADDED


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes(b"ref,\xff\n")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        read_import_file(path)


@given(st.lists(st.text(max_size=30), min_size=4, max_size=6))
def test_any_csv_row_is_a_verdict_not_a_crash(cells: list[str]) -> None:
    import csv
    import io
    import tempfile

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["ref", "api_key", "api_secret", "passphrase"])
    writer.writerow(cells)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "k.csv"
        path.write_text(buffer.getvalue())
        try:
            rows = read_import_file(path)
        except ImportFileError:
            return
    for row in rows:
        assert row.problem or row.ref is not None
