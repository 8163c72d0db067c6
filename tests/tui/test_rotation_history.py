"""Finished, aborted and open rotations appear in the key's detail pane (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kutui.ops.rotations import rotations_by_key as _rotations_by_key
from kutui.rotation.checklist import State
from kutui.rotation.store import RotationStore
from kutui.rotation.sub_flow import new_checklist
from kutui.store.home import Home
from kutui.tui.widgets.detail import rotations_text


def _store(home: Home) -> RotationStore:
    return RotationStore(home.paths.rotations_dir)


def test_each_rotation_of_a_key_is_listed_newest_first(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    store = _store(home)
    done = new_checklist("r1", "key-1", "main/sub1/bot", sub_name="sub1")
    done.created_at = datetime(2026, 10, 1, tzinfo=UTC)
    done.state, done.old_fingerprint, done.new_fingerprint = State.FINISHED, "d3eb", "9f2a"
    open_ = new_checklist("r2", "key-1", "main/sub1/bot", sub_name="sub1")
    open_.created_at = datetime(2026, 11, 20, tzinfo=UTC)
    other = new_checklist("r3", "key-2", "main/sub1/other", sub_name="sub1")
    for checklist in (done, open_, other):
        store.save(checklist)

    grouped = _rotations_by_key(home)
    assert [c.id for c in grouped["key-1"]] == ["r1", "r2"]
    lines = rotations_text(grouped["key-1"]).plain.splitlines()
    assert lines[0].startswith("2026-11-20  r2  open at: ")
    assert lines[1] == "2026-10-01  r1  finished: …d3eb → …9f2a"
    assert "never rotated" in rotations_text([]).plain


def test_a_damaged_checklist_does_not_hide_the_others(tmp_path: Path) -> None:
    home = Home.load(tmp_path)
    store = _store(home)
    store.save(new_checklist("r1", "key-1", "main/sub1/bot", sub_name="sub1"))
    (home.paths.rotations_dir / "broken.toml").write_text("not = [valid", encoding="utf-8")
    assert [c.id for c in _rotations_by_key(home)["key-1"]] == ["r1"]
