"""``kutui.commands.jsondump.dumps`` writes exactly what ``json.dumps(indent=2)`` writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kutui.commands.common import _json_default
from kutui.commands.jsondump import dumps


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Plain(Enum):
    A = "a"


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from([Colour.RED, Level.HIGH, Plain.A])
    | st.datetimes(timezones=st.just(UTC))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


def reference(value: Any) -> str:
    return json.dumps(value, indent=2, default=_json_default, ensure_ascii=False)


@given(values)
def test_any_value_is_written_as_json_writes_it(value: Any) -> None:
    assert dumps(value, default=_json_default) == reference(value)


@given(
    st.lists(st.fixed_dictionaries({"ref": st.text(), "n": values, "tags": st.lists(st.text())}))
)
def test_records_sharing_keys_are_written_as_json_writes_them(records: list[Any]) -> None:
    assert dumps(records, default=_json_default) == reference(records)


def test_records_with_other_keys_and_key_types_are_written_as_json_writes_them() -> None:
    mixed: list[Any] = [{"a": 1, "b": [1, "x"]}, {"b": 2, "a": 1}, {"a": {"%s": "%"}}, {1: "x"}]
    for value in (mixed, mixed[:2], [{"a%": datetime(2026, 1, 2, tzinfo=UTC)}] * 3, {2: [3]}):
        assert dumps(value, default=_json_default) == reference(value)
