"""kutui key import: one vault write per batch, a per-row report, the file only read."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from kutui.paths import Paths
from kutui.secret import Secret
from kutui.store import files as files_module
from kutui.store import vault as vault_module
from kutui.store.home import Home
from kutui.store.vault import Vault
from tests.cli.conftest import VAULT_PW, Cli


def _api_key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()[:24]


def _rows(count: int) -> list[dict[str, str]]:
    return [
        {
            "ref": f"main/sub{n % 7}/bot{n}",
            "api_key": _api_key(n),
            "api_secret": f"{n:08x}-5c39-4aaa-9b20-dea10bdcf8e3",
            "passphrase": f"Pass{n:06d}",
        }
        for n in range(count)
    ]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def count_writes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"update": 0, "write": 0}
    original_update = Vault.update
    original_write = files_module.atomic_write

    def update(self: Vault, fn: Any) -> Any:
        counts["update"] += 1
        return original_update(self, fn)

    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        counts["write"] += 1
        original_write(path, data, **kwargs)

    monkeypatch.setattr(Vault, "update", update)
    monkeypatch.setattr(vault_module, "atomic_write", write)
    return counts


def test_thousand_keys_in_one_vault_write(
    cli: Cli, vault_home: Path, tmp_path: Path, count_writes: dict[str, int]
) -> None:
    source = tmp_path / "keys.csv"
    _write_csv(source, _rows(1000))
    before = source.read_bytes()
    result = cli("key", "import", str(source))
    assert result.code == 0, result.err
    assert count_writes == {"update": 1, "write": 1}
    assert "1000 added, 0 skipped, 0 rejected" in result.out
    assert "delete it" in result.err
    assert source.read_bytes() == before  # only read
    assert len(Home.load(vault_home).registry().keys) == 1000
    opened = Vault.open(Paths.resolve(vault_home).vault, passphrase=Secret(VAULT_PW))
    assert len(opened.data.key_ids()) == 1000


def test_bad_rows_are_named_and_good_ones_imported(
    cli: Cli, vault_home: Path, tmp_path: Path
) -> None:
    rows = _rows(5)
    rows[1]["api_key"] = "XYZ"
    rows[3]["passphrase"] = "x"
    rows[4]["ref"] = "no-slash"
    source = tmp_path / "keys.csv"
    _write_csv(source, rows)
    result = cli("key", "import", str(source))
    assert result.code == 1
    lines = result.out.splitlines()
    assert any(line.startswith("line 3: rejected") and "24 lowercase hex" in line for line in lines)
    assert any(line.startswith("line 5: rejected") and "7 to 32" in line for line in lines)
    assert any(line.startswith("line 6: rejected") and "ref is not" in line for line in lines)
    assert "2 added, 0 skipped, 3 rejected" in result.out
    refs = sorted(str(k.ref) for k in Home.load(vault_home).registry().keys)
    assert refs == ["main/sub0/bot0", "main/sub2/bot2"]
    for row in rows:
        for field in ("api_key", "api_secret", "passphrase"):
            if len(row[field]) > 4:
                assert row[field] not in result.out + result.err


def test_reimport_skips_present_keys(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "keys.json"
    source.write_text(json.dumps(_rows(3)))
    assert cli("key", "import", str(source)).code == 0
    again = cli("key", "import", "--json", str(source))
    assert again.code == 0
    report = json.loads(again.out)
    assert [r["outcome"] for r in report] == ["skipped"] * 3
    assert "already exists" in report[0]["reason"]


def test_same_api_key_under_new_ref_is_skipped(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    rows = _rows(1)
    first = tmp_path / "a.json"
    first.write_text(json.dumps(rows))
    assert cli("key", "import", str(first)).code == 0
    rows[0]["ref"] = "main/renamed"
    second = tmp_path / "b.json"
    second.write_text(json.dumps(rows))
    result = cli("key", "import", str(second))
    assert "skipped" in result.out and "already stored as main/sub0/bot0" in result.out


def test_toml_import(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    import tomli_w

    source = tmp_path / "keys.toml"
    rows: list[dict[str, Any]] = list(_rows(2))
    rows[0]["api_version"] = 2
    rows[0]["note"] = "hedging bot"
    source.write_text(tomli_w.dumps({"keys": rows}))
    assert cli("key", "import", str(source)).code == 0
    keys = {str(k.ref): k for k in Home.load(vault_home).registry().keys}
    assert keys["main/sub0/bot0"].api_version == 2
    assert keys["main/sub0/bot0"].note.text == "hedging bot"


def test_unreadable_file_is_one_line(cli: Cli, vault_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "keys.json"
    source.write_text("[{")
    result = cli("key", "import", str(source))
    assert result.code == 2
    assert result.err.startswith(f"kutui: {source}: is not valid JSON")
    missing = cli("key", "import", str(tmp_path / "absent.csv"))
    assert missing.code == 2 and "does not exist" in missing.err
