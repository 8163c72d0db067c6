"""Every ``--json`` output with a versioned schema is validated against the JSON Schema file the
package ships (``kutui/data/schemas/NAME.schema.json``, read from the installed package), using
real output of the real command (docs/json.md).

Adding a schema = one file in kutui/data/schemas/ + one entry in ``PRODUCERS`` (a function that
runs the command in the shared home and returns its stdout); the first test fails until both
exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from kutui.checks.audit import RULE_IDS
from kutui.cli import build_parser, main
from kutui.commands.check import run_check
from kutui.kucoin.simulator import Simulator
from kutui.model import PermissionNote, Registry, Status
from kutui.rotation import master_flow, sub_flow
from kutui.rotation.checklist import new_rotation_id
from kutui.rotation.store import RotationStore

from .checks.simfleet import FleetKey, build_fleet
from .checks.simhome import SimHome, make_home


@dataclass
class World:
    sim: Simulator
    sh: SimHome
    fleet: list[FleetKey]
    capsys: pytest.CaptureFixture[str]

    def run(self, *command: str, transport: bool = False) -> str:
        self.capsys.readouterr()
        if transport:
            args = build_parser().parse_args(self.sh.argv(*command))
            run_check(args, transport=self.sim.transport())
        else:
            main(self.sh.argv(*command))
        out: str = self.capsys.readouterr().out
        return out


def _check(world: World) -> str:
    return world.run("check", "--all", "--json", transport=True)


def _audit(world: World) -> str:
    world.run("check", "--all", "--json", transport=True)  # permissions seen, checked times
    return world.run("audit", "--json")


def _key_list(world: World) -> str:
    world.run("check", "--all", "--json", transport=True)
    return world.run("key", "list", "--json")


def _rotate_list(world: World) -> str:
    store = RotationStore(world.sh.home.paths.rotations_dir)
    master = next(f for f in world.fleet if not f.target.ref.sub)
    sub = next(f for f in world.fleet if f.target.ref.sub)
    store.save(
        master_flow.new_checklist(
            new_rotation_id(), master.target.key_id, str(master.target.ref), consumers=("bot",)
        )
    )
    store.save(
        sub_flow.new_checklist(
            new_rotation_id(), sub.target.key_id, str(sub.target.ref), sub_name=sub.target.ref.sub
        )
    )
    return world.run("rotate", "--list", "--json")


def _consumer_list(world: World) -> str:
    ref = str(world.fleet[1].target.ref)  # also has the note's manual consumer, grid-bot
    target = world.sh.home.paths.config_dir.parent / "bot.env"
    world.run("consumer", "add", ref, "--name", "env", "--kind", "envfile", "--path", str(target))
    return world.run("consumer", "list", "--json")


#: schema name -> the command run that produces a document for it.
PRODUCERS: dict[str, Callable[[World], str]] = {
    "check": _check,
    "audit": _audit,
    "key-list": _key_list,
    "rotate-list": _rotate_list,
    "consumer-list": _consumer_list,
}


def shipped() -> dict[str, dict[str, Any]]:
    """The schema files as installed with the package (package data), by name."""
    folder = resources.files("kutui") / "data" / "schemas"
    return {
        entry.name.removesuffix(".schema.json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".schema.json")
    }


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _aware_iso_datetime(value: object) -> bool:
    # kutui writes datetime.isoformat() of aware UTC times; a naive one would be a bug.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def validate(schema: dict[str, Any], document: object) -> None:
    Draft202012Validator(schema, format_checker=FORMATS).validate(document)


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> World:
    sim = Simulator(seed=11)
    fleet = build_fleet(sim, uids=10, keys=18, faults_every=5, timeouts=0)
    sh = make_home(tmp_path / "home", fleet, without_secret=("id0",))

    def note(reg: Registry) -> None:  # a note, and a finding for it to drift from
        reg.keys[1].note = PermissionNote("grid bot", ("General",), ("grid-bot",))

    sh.home.update_registry(note)
    return World(sim, sh, fleet, capsys)


def test_every_shipped_schema_has_a_producer_and_is_a_valid_schema() -> None:
    schemas = shipped()
    assert set(schemas) == set(PRODUCERS)
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["schema"]["const"] >= 1, name
        assert schema["$id"] == f"kutui:{name}.schema.json"


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_the_real_output_matches_its_shipped_schema(name: str, world: World) -> None:
    schema = shipped()[name]
    document = json.loads(PRODUCERS[name](world))
    validate(schema, document)
    assert document["schema"] == schema["properties"]["schema"]["const"]
    items = [v for v in document.values() if isinstance(v, list)]
    assert items and all(items), "the document lists something real"


def test_the_schemas_know_every_status_and_audit_rule() -> None:
    schemas = shipped()
    statuses = {s.value for s in Status}
    assert set(schemas["check"]["properties"]["keys"]["items"]["properties"]["status"]["enum"]) == (
        statuses
    )
    key_status = schemas["key-list"]["properties"]["keys"]["items"]["properties"]["status"]
    assert set(key_status["enum"]) == statuses
    rule = schemas["audit"]["properties"]["findings"]["items"]["properties"]["rule"]
    assert set(rule["enum"]) == set(RULE_IDS)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        (
            "check",
            {"schema": 2, "checked_at": "2026-01-01T00:00:00+00:00", "summary": {}, "keys": []},
        ),
        ("check", {"schema": 1, "checked_at": "2026-01-01T00:00:00", "summary": {}, "keys": []}),
        (
            "check",
            {
                "schema": 1,
                "checked_at": "2026-01-01T00:00:00+00:00",
                "summary": {"fine": 1},
                "keys": [],
            },
        ),
        ("key-list", [{"ref": "a/b"}]),  # the old bare list, before the schema
        (
            "audit",
            {"schema": 1, "audited_at": "2026-01-01T00:00:00+00:00", "summary": {}, "findings": []},
        ),
        ("rotate-list", {"schema": 1, "rotations": [{"id": "x"}]}),
    ],
)
def test_the_schemas_refuse_what_kutui_must_not_print(name: str, bad: object) -> None:
    with pytest.raises(ValidationError):
        validate(shipped()[name], bad)
