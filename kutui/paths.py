"""Where kutui keeps its files.

``--home DIR`` or ``KUTUI_HOME`` puts every file under one directory (tests, demos, portable
installs); otherwise platformdirs' user config, data and state directories are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "kutui"
#: The registry and check history (docs/storage.md).
DB_NAME = "kutui.db"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        home = home if home is not None else os.environ.get("KUTUI_HOME") or None
        if home:
            root = Path(home).expanduser().absolute()
            return cls(config_dir=root, data_dir=root, state_dir=root)
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
            state_dir=Path(platformdirs.user_state_dir(APP_NAME)),
        )

    @property
    def config(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def themes_dir(self) -> Path:
        return self.config_dir / "themes"

    @property
    def db(self) -> Path:
        """The registry and check history (SQLite, docs/storage.md)."""
        return self.data_dir / DB_NAME

    @property
    def accounts(self) -> Path:
        """The registry before kutui.db: read once by the migration, then ``.migrated``."""
        return self.data_dir / "accounts.toml"

    @property
    def vault(self) -> Path:
        return self.data_dir / "vault.kv1"

    @property
    def state(self) -> Path:
        """Small app state: chosen theme, last vault generation seen."""
        return self.state_dir / "state.toml"

    @property
    def history(self) -> Path:
        """The check history before kutui.db (JSON): read once by the migration."""
        return self.state_dir / "history.json"

    @property
    def rotations_dir(self) -> Path:
        return self.state_dir / "rotations"

    @property
    def log(self) -> Path:
        return self.state_dir / "kutui.log"

    def all_dirs(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys((self.config_dir, self.data_dir, self.state_dir)))
