"""Hypothesis round trips through the files themselves (the byte-level registry property lives in
tests/store/test_registry.py; the checklist's there varies only its free texts).

- A rotation checklist in any state (every step status, any times, uid, consumers, whitelist)
  saved by ``RotationStore`` and loaded back is equal, and the file is 0600.
- A registry written with ``write_registry`` and read with ``read_registry`` is equal, and
  writing it again gives the same bytes (stable output: no churn in backups or diffs).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.model import Registry
from kutui.rotation import master_flow, sub_flow
from kutui.rotation.checklist import Checklist, State, StepStatus
from kutui.rotation.store import RotationStore
from kutui.store.files import locked
from kutui.store.registry import read_registry, write_registry
from tests.store.test_registry import registries

moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
texts = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=30)
labels = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True)


@st.composite
def checklists(draw: st.DrawFn) -> Checklist:
    rid = draw(st.from_regex(r"2[0-9]{11}-[0-9a-f]{4}", fullmatch=True))
    if draw(st.booleans()):
        checklist = sub_flow.new_checklist(rid, "k1", "main/sub/grid", sub_name="sub")
    else:
        checklist = master_flow.new_checklist(rid, "k1", "main/admin")
    for step in checklist.steps:
        step.status = draw(st.sampled_from(StepStatus))
        step.started_at = draw(st.none() | moments)
        step.done_at = draw(st.none() | moments)
        step.evidence = draw(texts)
        step.note = draw(texts)
    checklist.state = draw(st.sampled_from(State))
    checklist.created_at = draw(moments)
    checklist.updated_at = draw(moments)
    checklist.uid = draw(st.none() | st.integers(1, 2**40))
    checklist.permissions = tuple(draw(st.lists(st.sampled_from(["General", "Spot"]), unique=True)))
    checklist.ip_whitelist = draw(st.sampled_from(["", "127.0.0.1", "10.0.0.1,10.0.0.2"]))
    checklist.expire_days = draw(st.sampled_from([-1, 30, 90, 180, 360]))
    checklist.old_fingerprint = draw(st.from_regex(r"[0-9a-f]{4}", fullmatch=True))
    checklist.new_fingerprint = draw(st.sampled_from(["", "beef"]))
    checklist.consumers = tuple(draw(st.lists(labels, max_size=3)))
    checklist.consumers_switched = tuple(draw(st.lists(labels, max_size=3)))
    checklist.abort_reason = draw(texts)
    checklist.refresh_current()
    return checklist


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(checklists())
def test_any_checklist_survives_save_and_load(checklist: Checklist) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = RotationStore(Path(tmp) / "rotations")
        store.save(checklist)
        path = store.path_for(checklist.id)
        assert path.stat().st_mode & 0o777 == 0o600
        assert store.load(checklist.id) == checklist


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_any_registry_survives_the_file_and_writes_stable_bytes(registry: Registry) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.toml"
        with locked(path):
            write_registry(path, registry)
        first = path.read_bytes()
        again = read_registry(path)
        assert again == registry
        with locked(path):
            write_registry(path, again)
        assert path.read_bytes() == first
