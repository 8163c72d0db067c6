"""rotations/<id>.toml: round trip, strict loading, nothing overwritten on a bad file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kutui.errors import ChecklistError
from kutui.rotation import master_flow, sub_flow
from kutui.rotation.checklist import StepStatus, remark_for
from kutui.rotation.store import RotationStore, from_toml, to_toml
from kutui.text import clean_text

RID = "260101000000-abcd"


def stored(tmp_path: Path) -> tuple[RotationStore, Path]:
    store = RotationStore(tmp_path / "rotations")
    checklist = sub_flow.new_checklist(RID, "k-bot", "main/bot1sub/grid", sub_name="bot1sub")
    store.save(checklist)
    return store, store.path_for(RID)


def test_round_trip_and_mode(tmp_path: Path) -> None:
    store, path = stored(tmp_path)
    checklist = store.load(RID)
    step = checklist.step("plan")
    step.status = StepStatus.DONE
    step.started_at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    step.done_at = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    step.evidence = 'old key …3f2a works: "General,Spot"; uid 1001'
    checklist.uid = 2001
    checklist.consumers = ("a", "b")
    checklist.refresh_current()
    store.save(checklist)
    again = store.load(RID)
    assert again == checklist
    assert again.current == "create"
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.list_open() == [again]


def test_a_broken_old_key_is_saved_and_files_of_working_keys_stay_as_they_were(
    tmp_path: Path,
) -> None:
    store, path = stored(tmp_path)
    assert "old_key_broken" not in path.read_text()
    checklist = store.load(RID)
    checklist.old_key_broken = "400004"
    store.save(checklist)
    assert 'old_key_broken = "400004"' in path.read_text()
    again = store.load(RID)
    assert again == checklist
    assert again.broken_summary == (
        "old key fails its own check (invalid passphrase); using the master key"
    )


@given(
    evidence=st.text(max_size=200).map(lambda t: clean_text(t, multiline=True)),
    note=st.text(max_size=200).map(lambda t: clean_text(t, multiline=True)),
    consumers=st.lists(st.text(max_size=20).map(clean_text), max_size=5),
)
def test_any_clean_text_round_trips(evidence: str, note: str, consumers: list[str]) -> None:
    checklist = master_flow.new_checklist(RID, "k", "main/admin")
    checklist.steps[0].evidence = evidence
    checklist.steps[0].note = note
    checklist.consumers = tuple(consumers)
    assert from_toml(Path("x.toml"), to_toml(checklist)) == checklist


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda t: t.replace('flow = "sub"', 'flow = "sub'), "", "not valid TOML"),
        (
            lambda t: t.replace('id = "verify-new"', 'id = "teleport"'),
            "steps[3].id",
            "unknown step",
        ),
        (
            lambda t: t.replace("schema_version = 1", "schema_version = 7"),
            "schema_version",
            "newer",
        ),
        (
            lambda t: t.replace('status = "pending"', 'status = "sleeping"', 1),
            ".status",
            "not one of",
        ),
        (lambda t: t + "\nsurprise = 1\n", "surprise", "unknown field"),
        (lambda t: t.replace('key_id = "k-bot"\n', ""), "key_id", "missing"),
        (
            lambda t: t.replace("expire_days = -1", 'expire_days = "x"'),
            "expire_days",
            "must be int",
        ),
        (
            lambda t: t.replace("expire_days = -1", 'expire_days = -1\nold_key_broken = "400006"'),
            "old_key_broken",
            "not one of 400003, 400004, 400005",
        ),
    ],
)
def test_bad_files_are_refused_and_not_overwritten(
    tmp_path: Path, edit: object, key: str, words: str
) -> None:
    store, path = stored(tmp_path)
    assert callable(edit)
    bad = edit(path.read_text())
    assert bad != path.read_text()
    path.write_text(bad)
    with pytest.raises(ChecklistError) as caught:
        store.load(RID)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert key in message and words in message, message
    # Saving over it is refused too, and the file stays byte for byte.
    fresh = sub_flow.new_checklist(RID, "k-bot", "main/bot1sub/grid", sub_name="bot1sub")
    with pytest.raises(ChecklistError):
        store.save(fresh)
    with pytest.raises(ChecklistError):
        store.list_open()
    assert path.read_text() == bad


def test_remark_fits_kucoin_limit() -> None:
    from kutui.rotation.checklist import new_rotation_id

    rid = new_rotation_id()
    assert len(remark_for(rid)) <= 24
    with pytest.raises(ValueError):
        remark_for("x" * 30)


def test_generated_passphrases_follow_kucoin_rules() -> None:
    from kutui.model import generate_passphrase, passphrase_problem

    seen = {generate_passphrase().reveal() for _ in range(50)}
    assert len(seen) == 50
    assert all(passphrase_problem(p) is None for p in seen)
