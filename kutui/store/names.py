"""The names in a home's registry, read fast and read-only: for shell completion.

``kutui __complete`` runs on every Tab press, so it reads kutui.db directly (``mode=ro``: never
creates, migrates or locks anything, and never touches the vault) and returns only names that
pass ``kutui.model.valid_name``, so a tampered database cannot put shell syntax or control
characters on the command line. Any problem (no database yet, busy, damaged) gives no names:
completion must never print an error into the user's prompt.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from kutui.model import valid_name


@dataclass(frozen=True)
class Names:
    keys: list[str] = field(default_factory=list)  # ACCOUNT/LABEL, ACCOUNT/SUB/LABEL
    owners: list[str] = field(default_factory=list)  # ACCOUNT, ACCOUNT/SUB


def read_names(db: Path) -> Names:
    """Every key reference and owner (account, sub-account) in ``db``, in registry order."""
    if not db.is_file():
        return Names()
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return Names()
    try:
        accounts = [r[0] for r in conn.execute("SELECT name FROM accounts ORDER BY seq")]
        subs = list(conn.execute("SELECT account, name FROM subaccounts ORDER BY seq"))
        keys = list(conn.execute("SELECT account, sub, label FROM keys ORDER BY seq"))
    except sqlite3.Error:
        return Names()
    finally:
        conn.close()
    owners = [a for a in accounts if valid_name(a)]
    owners += [f"{a}/{s}" for a, s in subs if valid_name(a) and valid_name(s)]
    refs = [
        f"{a}/{s}/{label}" if s else f"{a}/{label}"
        for a, s, label in keys
        if valid_name(a) and valid_name(label) and (not s or valid_name(s))
    ]
    return Names(refs, owners)
