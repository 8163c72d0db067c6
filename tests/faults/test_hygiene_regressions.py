"""Hygiene regressions (docs/security.md, "What the tests try", F) beyond tests/cli/test_hygiene.py.

- A crash with a secret in a local variable, in the real app under Textual's headless driver:
  stderr carries a traceback but not the secret (a plain Textual app, the control, prints it).
- Rich's repr (what Textual's traceback and ``rich.print`` use) of every credential holder.
- Every dataclass field anywhere in kutui whose name says "secret" is typed ``Secret``.
- No command-line option takes a secret (proc(5): argv is world-readable).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from rich.pretty import pretty_repr

import kutui
from kutui.cli import build_parser
from kutui.secret import Secret

REPO = Path(__file__).resolve().parents[2]
SECRET = "9f2b6c1e-0d4a-4b7e-8c3f-5a6b7c8d9e0f"

CRASH = """
import sys
from pathlib import Path
from textual.app import App
sys.path.insert(0, {repo!r})
SECRET = {secret!r}

if sys.argv[1] == "kutui":
    from kutui.demo import build_demo
    from kutui.tui.app import KutuiApp

    demo = build_demo(Path(sys.argv[2]), prechecked=True)

    class Crashing(KutuiApp):
        def on_mount(self) -> None:
            api_secret = SECRET + ""  # a raw str local, as Textual's example shows
            credentials = {{"api_secret": api_secret}}
            raise ValueError("cannot use " + str(len(credentials)) + " credential")

    app = Crashing(demo.home, vault=demo.open_vault(), watch_tty=False)
else:
    class Crashing(App[None]):
        def on_mount(self) -> None:
            api_secret = SECRET + ""
            raise ValueError("cannot use the credential")

    app = Crashing()
app.run(headless=True)
"""


def _crash(kind: str, tmp_path: Path) -> str:
    script = CRASH.format(repo=str(REPO), secret=SECRET)
    done = subprocess.run(
        [sys.executable, "-c", script, kind, str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "TERM": "xterm-256color",
            "COLUMNS": "120",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "KUTUI_HOME": str(tmp_path / "unused"),
        },
    )
    return done.stdout + done.stderr


def test_textual_alone_prints_locals_on_a_crash(tmp_path: Path) -> None:
    """The control: without kutui's override the secret is printed (docs/security.md, "Process
    hygiene")."""
    output = _crash("textual", tmp_path)
    assert "ValueError" in output
    assert SECRET in output


def test_a_kutui_crash_shows_the_traceback_but_no_secret(tmp_path: Path) -> None:
    output = _crash("kutui", tmp_path)
    assert "ValueError" in output and "cannot use 1 credential" in output
    assert SECRET not in output
    assert SECRET[:8] not in output


def _holders() -> list[object]:
    from kutui.checks.runner import CheckTarget
    from kutui.model import Credential, KeyRef
    from kutui.store.vault import VaultData

    cred = Credential(Secret("6705f5c311545b000157d3eb"), Secret(SECRET), Secret("Pass-word-1"))
    data = VaultData()
    data.put("id1", cred)
    target = CheckTarget("id1", KeyRef("main", "", "bot"), "https://api.kucoin.com", cred, "main")
    return [Secret(SECRET), cred, data, target]


@pytest.mark.parametrize("obj", _holders(), ids=lambda o: type(o).__name__)
def test_rich_repr_is_masked(obj: object) -> None:
    for text in (pretty_repr(obj), pretty_repr([obj], max_depth=5), pretty_repr({"x": obj})):
        assert SECRET not in text and "6705f5c311545b000157d3eb" not in text
        assert "Pass-word-1" not in text


SECRETISH = re.compile(r"secret|passphrase|password|api_key$|^kek$|token", re.I)
#: Where a secret is kept, not the secret: an OpenBao token file or AppRole secret-id file path.
LOCATION = ("_file", "_path", "_dir")
#: The simulator is the fake exchange: its keys are test data, printed on purpose.
NOT_KUTUI_SECRETS = ("kutui.kucoin.simulator",)


def _kutui_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(kutui.__path__, "kutui.")]
    return [n for n in names if not n.startswith(NOT_KUTUI_SECRETS) and not n.endswith("__main__")]


def test_every_secret_field_in_kutui_is_a_secret_or_hidden_from_repr() -> None:
    """A text field named like a credential must be a ``Secret`` or left out of the repr."""
    offenders = []
    for name in _kutui_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
                continue
            if value.__module__ != name or value.__name__ == "Demo":  # Demo: public passphrase
                continue
            hints = typing.get_type_hints(value)
            for f in dataclasses.fields(value):
                text_typed = hints.get(f.name) in (str, str | None, bytes, bytes | None)
                named = SECRETISH.search(f.name) and not f.name.endswith(LOCATION)
                if named and text_typed and f.repr:
                    offenders.append(f"{name}.{value.__name__}.{f.name}: {hints.get(f.name)}")
    assert offenders == []


def test_key_info_repr_hides_the_full_api_key() -> None:
    from kutui.kucoin.client import KeyInfo

    info = KeyInfo("6705f5c311545b000157d3eb", "bot", 3, ("General",), "", 0, 1, True, "")
    assert "6705f5c311545b000157d3eb" not in repr(info) + pretty_repr(info)


def _walk(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _walk(sub, f"{path} {name}")
        else:
            found.append((path, action))
    return found


def test_no_command_line_option_takes_a_secret() -> None:
    """Options may name a *file* holding a secret, or be flags; never carry the value."""
    actions = _walk(build_parser(), "kutui")
    assert len(actions) > 40  # the walk reached the sub-commands
    offenders = []
    for where, action in actions:
        names = " ".join([*action.option_strings, action.dest, str(action.metavar or "")])
        if not re.search(r"secret|passphrase|password|api[-_]?key|token|kek", names, re.I):
            continue
        takes_value = action.nargs != 0
        if takes_value and not re.search(r"[-_]file\b|FILE", names):
            offenders.append(f"{where}: {action.option_strings or action.dest}")
    assert offenders == []


async def test_osc52_only_on_an_explicit_copy_and_cleared_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import base64

    from kutui.demo import build_demo
    from kutui.tui.app import KutuiApp
    from kutui.tui.clipboard import SecretClipboard

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    demo = build_demo(tmp_path / "demo", prechecked=True)
    app = KutuiApp(demo.home, vault=demo.open_vault(), watch_tty=False)
    terminal: list[str] = []
    osc52 = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")
    async with app.run_test(size=(120, 40)) as pilot:
        driver: typing.Any = app._driver
        driver.write = terminal.append
        app._clipboard_guard = SecretClipboard(app, clear_after=0.3)
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("l", "v", "escape", "Y", "n")  # reveal, then refuse to copy the secret
        await pilot.pause()
        assert osc52.findall("".join(terminal)) == []
        key = app.main.selected_key if app.main is not None else None
        assert key is not None and app.vault is not None
        cred = app.vault.data.get(key.id)
        assert cred is not None
        await pilot.press("y")
        await pilot.pause()
        copied = osc52.findall("".join(terminal))
        assert [base64.b64decode(p).decode() for p in copied] == [cred.api_key.reveal()]
        await asyncio.sleep(0.6)
        await pilot.pause()
        assert osc52.findall("".join(terminal))[1:] == [""]  # the clearing sequence
        assert app.clipboard == ""
