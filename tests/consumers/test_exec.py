"""Done when 3: ``kutui exec`` replaces itself with the command, credentials in its environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rotation.test_cli import OLD, Setup, make_home

REF = "main/bot1sub/grid"
CHILD = (
    "import json, os, sys; "
    "print(json.dumps({'argv': sys.argv, 'cmdline': open('/proc/self/cmdline').read(), "
    "'env': {k: v for k, v in os.environ.items() if k.startswith(('KUCOIN', 'FREQTRADE'))}}))"
)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_home(tmp_path, "http://127.0.0.1:9")  # exec never calls KuCoin


def run(setup: Setup, *argv: str, passphrase: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    env["KUTUI_HOME"] = str(setup.home)
    pw = ["--passphrase-file", str(setup.pw_file)] if passphrase else []
    return subprocess.run(
        [sys.executable, "-m", "kutui", *pw, "exec", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("fmt", "names"),
    [
        ("env", ("KUCOIN_API_KEY", "KUCOIN_API_SECRET", "KUCOIN_API_PASSPHRASE")),
        (
            "freqtrade",
            (
                "FREQTRADE__EXCHANGE__KEY",
                "FREQTRADE__EXCHANGE__SECRET",
                "FREQTRADE__EXCHANGE__PASSWORD",
            ),
        ),
        ("ccxt", ("KUCOIN_APIKEY", "KUCOIN_SECRET", "KUCOIN_PASSWORD")),
    ],
)
def test_the_child_sees_the_credentials_and_none_in_its_argv(
    setup: Setup, fmt: str, names: tuple[str, str, str]
) -> None:
    done = run(setup, REF, "--format", fmt, "--", sys.executable, "-c", CHILD)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert tuple(seen["env"][n] for n in names) == OLD
    for value in OLD:
        assert value not in seen["cmdline"] and value not in json.dumps(seen["argv"])
        assert value not in done.stderr


def test_a_prefix_names_the_variables(setup: Setup) -> None:
    done = run(setup, REF, "--prefix", "GRID", "--", sys.executable, "-c", CHILD)
    assert json.loads(done.stdout)["env"] == {} or "GRID_KEY" not in done.stdout
    child = "import os; print(os.environ['GRID_KEY'][-4:])"
    done = run(setup, REF, "--prefix", "GRID", "--", sys.executable, "-c", child)
    assert done.stdout.strip() == OLD[0][-4:]


def test_the_exit_code_and_a_signal_are_the_childs_own(setup: Setup) -> None:
    assert run(setup, REF, "--", sys.executable, "-c", "raise SystemExit(7)").returncode == 7
    killed = run(
        setup,
        REF,
        "--",
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    )
    assert killed.returncode == -signal.SIGTERM  # kutui is gone: the child itself was killed
    me = run(setup, REF, "--", sys.executable, "-c", "import os; print(os.getpid(), os.getppid())")
    assert me.returncode == 0


def test_a_locked_vault_is_exit_2_and_nothing_runs(setup: Setup, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    done = run(
        setup,
        REF,
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
        passphrase=False,
    )
    assert done.returncode == 2
    assert "unlock" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_exec_is_headless(setup: Setup) -> None:
    probe = (
        "import os, sys\n"
        "def stop(*a):\n"
        "    print('textual' in sys.modules); sys.exit(0)\n"
        "os.execvpe = stop\n"
        "from kutui.cli import main\n"
        f"main(['--passphrase-file', {str(setup.pw_file)!r}, 'exec', {REF!r}, '--', 'true'])\n"
    )
    env = {**os.environ, "KUTUI_HOME": str(setup.home)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "False", done.stderr
