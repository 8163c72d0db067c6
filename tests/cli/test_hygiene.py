"""Secret hygiene: every CLI command with all loggers at DEBUG leaks nothing; reprs are masked."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
from pathlib import Path

import pytest

import kutui.errors
from kutui import model
from kutui.model import (
    Account,
    ApiKey,
    CheckResult,
    Credential,
    KeyRef,
    PermissionNote,
    Registry,
    Status,
)
from kutui.secret import Secret
from kutui.store import keyfile
from kutui.store.keyring_unlock import KeyringAnswer
from kutui.store.vault import VaultData
from tests.cli.conftest import (
    API_KEY,
    API_PASSPHRASE,
    API_SECRET,
    SECRETS,
    VAULT_PW,
    Cli,
    credentials_stdin,
)

NEW_PW = "the-new-vault-passphrase"
ALL_SECRETS = (*SECRETS, NEW_PW)


def _assert_clean(text: str, where: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"a secret appeared in {where}"


def test_every_command_keeps_secrets_out_of_logs_and_output(
    cli: Cli, home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    import_file = tmp_path / "keys.json"
    import_file.write_text(
        json.dumps(
            [
                {
                    "ref": "main/imp1",
                    "api_key": "a" * 24,
                    "api_secret": API_SECRET,
                    "passphrase": API_PASSPHRASE,
                },
                {
                    "ref": "main/bad",
                    "api_key": API_KEY.upper(),
                    "api_secret": API_SECRET,
                    "passphrase": API_PASSPHRASE,
                },
            ]
        )
    )
    new_pw = tmp_path / "new-pw"
    new_pw.write_text(NEW_PW + "\n")
    wrong_pw = tmp_path / "wrong-pw"
    wrong_pw.write_text("wrong-" + VAULT_PW + "\n")
    steps: list[tuple[tuple[str, ...], str]] = [
        (("init",), ""),
        (("account", "add", "main"), ""),
        (("key", "add", "main/bot1", "--note", "n"), credentials_stdin()),
        (("key", "add", "main/bot2"), credentials_stdin()),  # same API key: refused
        (("key", "add", "main/bot3"), credentials_stdin(api_key=API_KEY[:-1] + "Z")),
        (("key", "import", str(import_file)), ""),
        (("key", "list"), ""),
        (("key", "list", "--json"), ""),
        (("account", "list", "--json"), ""),
        (("locate", "vault"), ""),
        (("doctor",), ""),
        (("vault", "passwd", "--new-passphrase-file", str(new_pw)), ""),
        (("key", "remove", "main/imp1", "--yes"), ""),
        (("account", "remove", "main", "--yes", "--force"), ""),
    ]
    codes = []
    for argv, stdin in steps:
        result = cli("--debug", *argv, stdin=stdin)
        codes.append(result.code)
        _assert_clean(result.out, f"stdout of {argv}")
        _assert_clean(result.err, f"stderr of {argv}")
        if argv[:2] == ("vault", "passwd"):
            # from here on the vault opens with the new passphrase
            (tmp_path / "pf").write_text(NEW_PW + "\n")
    wrong = cli(
        "--home",
        str(home),
        "--passphrase-file",
        str(wrong_pw),
        "--debug",
        "key",
        "add",
        "main/x",
        stdin=credentials_stdin(),
        bare=True,
    )
    assert wrong.code == 2
    _assert_clean(wrong.out + wrong.err, "the wrong-passphrase run")
    assert codes == [0, 0, 0, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert any(r.levelno == logging.DEBUG and r.name.startswith("kutui") for r in caplog.records)
    _assert_clean(caplog.text, "the logs")
    for record in caplog.records:
        _assert_clean(record.getMessage(), "a log record")


def _instances() -> list[object]:
    secret = Secret(API_SECRET)
    credential = Credential(Secret(API_KEY), secret, Secret(API_PASSPHRASE))
    data = VaultData()
    data.put("id1", credential)
    check = CheckResult(Status.OK, model.now_utc(), permissions=("General",))
    key = ApiKey(
        "id1", KeyRef("main", "", "bot"), "d3eb", note=PermissionNote("x"), last_check=check
    )
    row = keyfile.ImportRow(
        "line 2",
        KeyRef("main", "", "bot"),
        "main/bot",
        Secret(API_KEY),
        secret,
        Secret(API_PASSPHRASE),
    )
    return [
        secret,
        credential,
        data,
        key,
        check,
        row,
        Registry([Account("main")], [key]),
        KeyringAnswer(ok=True, value=API_SECRET),
    ]


@pytest.mark.parametrize("obj", _instances(), ids=lambda o: type(o).__name__)
def test_reprs_are_masked(obj: object) -> None:
    for text in (repr(obj), str(obj), f"{obj}"):
        _assert_clean(text, type(obj).__name__)


def test_every_dataclass_field_that_holds_a_secret_is_a_secret() -> None:
    """A new credential field typed ``str`` would print in clear: all must be ``Secret``."""
    for module in (model, keyfile):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not dataclasses.is_dataclass(cls):
                continue
            for field in dataclasses.fields(cls):
                if field.name in ("api_key", "api_secret", "passphrase"):
                    assert field.type in ("Secret", Secret), f"{name}.{field.name}"


@pytest.mark.parametrize(
    "cls",
    [
        c
        for _, c in inspect.getmembers(kutui.errors, inspect.isclass)
        if issubclass(c, kutui.errors.KutuiError)
    ],
    ids=lambda c: c.__name__,
)
def test_error_reprs_carry_only_their_message(cls: type[kutui.errors.KutuiError]) -> None:
    params = inspect.signature(cls).parameters
    if "path" in params:  # noqa: SIM108 - the ignore comment needs its own line
        error = cls(Path("/h/f.toml"), "bad value")  # type: ignore[call-arg,arg-type]
    else:
        error = cls("bad value")
    assert "bad value" in str(error) and "bad value" in repr(error)
    assert error.exit_code in (1, 2)
