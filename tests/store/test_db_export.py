"""Registry export/import (TOML and JSON, for people and git): a round trip keeps everything,
the strict accounts.toml rules validate an import, and a bad import changes nothing."""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kutui.errors import RegistryError
from kutui.model import Registry
from kutui.store.registry import read_registry
from kutui.store.registry_export import FORMATS, Format, export_registry, import_registry
from kutui.store.sqlite_registry import RegistryStore
from tests.store.test_db_registry import ok, sample
from tests.store.test_registry import registries

FIXTURE = Path(__file__).parent / "data" / "home-toml" / "accounts.toml"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), st.sampled_from(FORMATS))
def test_an_export_imports_back_to_the_same_registry(registry: Registry, fmt: Format) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with RegistryStore.open(Path(tmp) / "a") as source:
            with source.write() as tx:
                tx.replace_registry(registry)
            text = export_registry(source, fmt)
        with RegistryStore.open(Path(tmp) / "b") as target:
            assert import_registry(target, text, fmt) == registry
            assert target.snapshot() == registry
            assert export_registry(target, fmt) == text  # stable text: no churn in git


def test_the_toml_export_is_todays_accounts_toml(tmp_path: Path) -> None:
    registry = read_registry(FIXTURE)
    with RegistryStore.open(tmp_path) as store:
        import_registry(store, FIXTURE.read_text(), "toml")
        assert store.snapshot() == registry
        exported = export_registry(store, "toml")
    assert tomllib.loads(exported) == tomllib.loads(FIXTURE.read_text())


def test_an_export_without_checks_keeps_this_hosts_last_checks_on_import(tmp_path: Path) -> None:
    with RegistryStore.open(tmp_path) as store:
        with store.write() as tx:
            tx.replace_registry(sample())
            tx.record_results([("s1", ok(2002))])
        text = export_registry(store, "json", checks=False)
        assert "last_check" not in json.loads(text)["keys"][1]
        import_registry(store, text, "json")
        key = store.key_by_id("s1")
        assert key is not None and key.last_check == ok(2002)
        assert len(store.history("s1")) == 1


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("toml", "schema_version = 2\n", "schema_version: is 2: this file was written by a newer"),
        ("toml", "schema_version = 1\n[[keys]]\nid = 'x'\nref = 'a/b'\n", "keys[0].ref: names"),
        ("json", "{not json", "is not valid JSON"),
        ("json", "[1, 2]", "is not a kutui registry export"),
        (
            "json",
            '{"schema_version": 1, "accounts": [{"name": "a"}], "keys": [{"id": "k", '
            '"ref": "a/k", "added_at": "yesterday"}]}',
            "keys[0].added_at: must be a date-time, not a string",
        ),
    ],
)
def test_a_bad_import_is_one_line_and_changes_nothing(
    tmp_path: Path, fmt: Format, text: str, message: str
) -> None:
    with RegistryStore.open(tmp_path) as store:
        with store.write() as tx:
            tx.replace_registry(sample())
        with pytest.raises(RegistryError) as caught:
            import_registry(store, text, fmt, source=Path("team/registry." + fmt))
        assert str(caught.value).startswith(f"team/registry.{fmt}: ")
        assert message in str(caught.value)
        assert store.snapshot() == sample()


def test_an_import_removes_keys_it_leaves_out_with_their_history(tmp_path: Path) -> None:
    smaller = sample()
    smaller.keys = [k for k in smaller.keys if k.id != "s2"]
    with RegistryStore.open(tmp_path) as store:
        with store.write() as tx:
            tx.replace_registry(sample())
            tx.record_results([("s2", ok(1)), ("s1", ok(2))])
        source = RegistryStore.open(tmp_path / "other")
        with source.write() as tx:
            tx.replace_registry(smaller)
        import_registry(store, export_registry(source, "toml", checks=False), "toml")
        source.close()
        assert store.key_by_id("s2") is None and store.history("s2") == []
        assert len(store.history("s1")) == 1
