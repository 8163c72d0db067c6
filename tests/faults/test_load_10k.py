"""``kutui check --all`` over 10,000 keys on the in-process simulator, 5 % of them on KuCoin users
that time out, answer 5xx or answer an HTML page: every key gets its true status, nothing crashes,
every result is saved. (Peak memory of the same run: ``bench/memory.py``.)

The run happens in a child process so that a hang fails the test after ``HANG_GUARD`` seconds
instead of blocking the suite (a guard, not a speed target: the figures are in bench/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kutui.model import Status
from kutui.store.home import Home

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
HANG_GUARD = 300


def run_child(tmp_path: Path, keys: int) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.faults.load_child", str(tmp_path), str(keys)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=HANG_GUARD,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"kutui check over {keys} keys did not finish within {HANG_GUARD} s")
    assert done.returncode == 0, done.stderr[-2000:]
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def test_ten_thousand_keys_with_five_percent_faults(tmp_path: Path) -> None:
    doc = run_child(tmp_path, 10_000)
    assert doc["code"] == 1  # some keys are unhealthy; not 2 (bad input) or 70 (a crash)
    assert "Traceback" not in doc["stderr"]
    got = {row["ref"]: row["status"] for row in doc["report"]["keys"]}
    assert len(got) == 10_000
    wrong = {r: (got.get(r), want) for r, want in doc["expected"].items() if got.get(r) != want}
    assert wrong == {}
    counts = Counter(got.values())
    assert counts[Status.UNREACHABLE.value] == 500  # 5 %
    assert counts[Status.BAD_PASSPHRASE.value] > 0 and counts[Status.INVALID_KEY.value] > 0
    assert set(doc["faults"]) == {"timeout", "5xx", "html"}
    unreachable = [row for row in doc["report"]["keys"] if row["status"] == "unreachable"]
    assert all(row["message"] and row["fix"] for row in unreachable)
    registry = Home.load(tmp_path / "home").registry()
    assert sum(1 for k in registry.keys if k.last_check is not None) == 10_000
