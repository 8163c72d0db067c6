from __future__ import annotations

from pathlib import Path

import pytest

from tests.rotation.world import World, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("KUTUI_HOME", str(tmp_path / "home"))
    return make_world(tmp_path / "home")
