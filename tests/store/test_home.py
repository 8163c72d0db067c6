"""Home: loading, state, and the unlock order of open_vault."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from kutui.errors import ConfigError, FileProblem, RegistryError, UnlockError, VaultAuthError
from kutui.model import Account, Registry
from kutui.secret import Secret
from kutui.store import home as home_module
from kutui.store.home import Home, read_passphrase_file
from kutui.store.kdf import KdfParams
from kutui.store.vault import Vault, VaultData

PW = "home-test-passphrase"


@pytest.fixture(autouse=True)
def _no_credentials_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _home(tmp_path: Path, config: str = "") -> Home:
    tmp_path.mkdir(exist_ok=True)
    if config:
        (tmp_path / "config.toml").write_text(config)
    return Home.load(tmp_path)


def _with_vault(
    tmp_path: Path, tiny_kdf: KdfParams, *, kek: bytes | None = None, pw: str | None = PW
) -> Home:
    home = _home(tmp_path)
    Vault.create(
        home.paths.vault,
        passphrase=Secret(pw) if pw else None,
        kdf=tiny_kdf,
        keyring_kek=kek,
        allow_weak=True,
    )
    return home


def test_load_reports_a_bad_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ui.mouse"):
        _home(tmp_path, "[ui]\nmouse = 3\n")


def test_load_removes_old_temp_files_only(tmp_path: Path) -> None:
    old = tmp_path / ".kutui-accounts.toml.abc.part"
    young = tmp_path / ".kutui-accounts.toml.def.part"
    old.write_text("x")
    young.write_text("y")
    past = time.time() - 3600
    os.utime(old, (past, past))
    Home.load(tmp_path)
    assert not old.exists() and young.exists()


def test_state_round_trip(tmp_path: Path) -> None:
    home = _home(tmp_path)
    assert home.state().vault_generation == 0

    def change(state: home_module.AppState) -> None:
        state.theme = "kucoin-light"
        state.extra["last_key"] = "main/bot1"

    home.update_state(change)
    state = home.state()
    assert (state.theme, state.extra) == ("kucoin-light", {"last_key": "main/bot1"})


def test_bad_state_file_names_the_key(tmp_path: Path) -> None:
    home = _home(tmp_path)
    home.paths.state.write_text('vault_generation = "two"\n')
    with pytest.raises(RegistryError, match="vault_generation: must be an integer"):
        home.state()


def test_passphrase_file_first_line(tmp_path: Path) -> None:
    path = tmp_path / "pf"
    path.write_text("correct horse \r\nsecond line\n")
    assert read_passphrase_file(path).reveal() == "correct horse "
    path.write_text("\n")
    with pytest.raises(FileProblem, match="empty"):
        read_passphrase_file(path)
    with pytest.raises(FileProblem, match="not found"):
        read_passphrase_file(tmp_path / "nope")


def test_unlock_order(tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _with_vault(tmp_path / "h", tiny_kdf)
    pf = tmp_path / "pf"
    pf.write_text(PW + "\n")
    # an explicit passphrase wins, then the file, then $CREDENTIALS_DIRECTORY, then the prompt
    assert home.open_vault(passphrase=Secret(PW)).unlocked_by == "passphrase"
    assert home.open_vault(passphrase_file=pf).generation == 1
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kutui-passphrase").write_text(PW)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    asked: list[str] = []

    def prompt(label: str) -> Secret:
        asked.append(label)
        return Secret(PW)

    home.open_vault(prompt=prompt)
    assert asked == []  # $CREDENTIALS_DIRECTORY answered first
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    home.open_vault(prompt=prompt)
    assert asked == ["Vault passphrase"]
    with pytest.raises(UnlockError, match="no way to unlock"):
        home.open_vault()
    with pytest.raises(VaultAuthError, match="wrong passphrase"):
        home.open_vault(passphrase=Secret("wrong"))


def test_keyring_stanza_used_first(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    kek = os.urandom(32)
    home = _with_vault(tmp_path, tiny_kdf, kek=kek)
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: (kek, ""))
    vault = home.open_vault(prompt=lambda label: pytest.fail("asked for a passphrase"))
    assert vault.unlocked_by == "keyring"


def test_failing_keyring_falls_back_to_passphrase(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _with_vault(tmp_path, tiny_kdf, kek=os.urandom(32))
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: (os.urandom(32), ""))
    assert home.open_vault(passphrase=Secret(PW)).unlocked_by == "passphrase"
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: (None, "timed out"))
    with pytest.raises(UnlockError, match=r"keyring: timed out"):
        home.open_vault()


def test_home_opens_the_keyring_stanza_as_open_with_keyring_does(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule (keyring_unlock.try_keyring_stanza): a key that does not fit gives the reason
    open_with_keyring gives, and a vault without a keyring stanza mentions no keyring at all."""
    home = _with_vault(tmp_path, tiny_kdf, kek=os.urandom(32))
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: (os.urandom(32), ""))
    with pytest.raises(UnlockError) as wrong:
        home.open_vault()
    vault_path = home.paths.vault
    assert f"(keyring: the key in the OS keyring does not open {vault_path})" in str(wrong.value)

    plain = _with_vault(tmp_path / "plain", tiny_kdf)
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: pytest.fail("keyring used"))
    with pytest.raises(UnlockError) as none:
        plain.open_vault()
    assert "(keyring:" not in str(none.value)


def test_passphrase_mode_never_asks_the_keyring(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_vault(tmp_path, tiny_kdf, kek=os.urandom(32))
    (tmp_path / "config.toml").write_text('[vault]\nunlock = "passphrase"\n')
    home = Home.load(tmp_path)
    monkeypatch.setattr(Home, "keyring_kek", lambda self, uuid: pytest.fail("keyring used"))
    assert home.open_vault(passphrase=Secret(PW)).unlocked_by == "passphrase"


def test_rollback_is_noticed(tmp_path: Path, tiny_kdf: KdfParams) -> None:
    home = _with_vault(tmp_path, tiny_kdf)
    old = tmp_path / "old-vault"
    shutil.copy2(home.paths.vault, old)
    vault = home.open_vault(passphrase=Secret(PW))
    vault.update(lambda data: None)
    home.note_vault_generation(vault)
    assert home.state().vault_generation == 2
    shutil.copy2(old, home.paths.vault)
    restored = home.open_vault(passphrase=Secret(PW))
    assert restored.rollback_warning and "older than the last one seen" in restored.rollback_warning
    assert home.state().vault_generation == 2  # never lowered


def test_an_update_by_another_process_is_seen_through_the_registry_cache(tmp_path: Path) -> None:
    """The cache is keyed by the file's identity: a save elsewhere replaces the file."""
    import subprocess
    import sys

    from kutui.model import Account
    from kutui.store.home import Home

    home = Home.load(tmp_path)
    home.update_registry(lambda reg: reg.accounts.append(Account("first")))
    code = (
        "from kutui.store.home import Home\n"
        "from kutui.model import Account\n"
        f"Home.load({str(tmp_path)!r}).update_registry("
        "lambda reg: reg.accounts.append(Account('second')))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    home.update_registry(lambda reg: reg.accounts.append(Account("third")))
    assert [a.name for a in home.registry().accounts] == ["first", "second", "third"]


def test_a_failed_update_leaves_neither_the_file_nor_the_cache_changed(tmp_path: Path) -> None:
    from kutui.model import Account
    from kutui.store.home import Home

    home = Home.load(tmp_path)
    home.update_registry(lambda reg: reg.accounts.append(Account("kept")))

    def half_done(reg: object) -> None:
        assert hasattr(reg, "accounts")
        reg.accounts.append(Account("lost"))
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        home.update_registry(half_done)
    assert [a.name for a in home.registry().accounts] == ["kept"]
    copy_ = home.registry()
    copy_.accounts.clear()  # a caller's changes to its copy stay its own
    assert [a.name for a in home.registry().accounts] == ["kept"]


def test_stale_temp_files_of_rotation_checklists_are_removed_at_start(tmp_path: Path) -> None:
    rotations = tmp_path / "rotations"
    rotations.mkdir(mode=0o700)
    stale = rotations / ".kutui-r1.toml.abc.part"
    stale.write_text("half a checklist")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    Home.load(tmp_path)
    assert not stale.exists()


def test_other_programs_temp_files_are_never_removed(tmp_path: Path) -> None:
    foreign = tmp_path / ".x.part"  # another program's half-written file in a shared directory
    foreign.write_text("theirs")
    past = time.time() - 3600
    os.utime(foreign, (past, past))
    Home.load(tmp_path)
    assert foreign.read_text() == "theirs"


@pytest.mark.parametrize("mode", [0o1777, 0o0775, 0o0777, 0o0757])
def test_a_home_others_may_write_to_is_refused_and_left_as_it_was(
    tmp_path: Path, mode: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(FileProblem) as info:
        Home.load(shared)
    assert str(info.value).startswith(f"{shared}: has mode {mode:04o}: others may write to it")
    assert "chmod go-w" in str(info.value)
    assert (shared.stat().st_mode & 0o7777) == mode  # never tightened behind the user's back
    assert list(shared.iterdir()) == []


def test_a_readable_home_is_used_as_it_is(tmp_path: Path) -> None:
    home_dir = tmp_path / "mine"
    home_dir.mkdir()
    home_dir.chmod(0o755)
    home = Home.load(home_dir)
    home.update_registry(lambda registry: None)
    assert (home_dir.stat().st_mode & 0o777) == 0o755  # kutui did not create it: not chmod-ed
    assert (home.paths.db.stat().st_mode & 0o777) == 0o600


def test_a_home_kutui_creates_is_private(tmp_path: Path) -> None:
    home = Home.load(tmp_path / "new" / "home")
    home.update_registry(lambda registry: None)
    assert (home.paths.data_dir.stat().st_mode & 0o777) == 0o700


class _Crash(BaseException):
    """Stands for the process dying: nothing after it runs, no rollback either."""


def test_add_credentials_interrupted_after_the_vault_write_is_adopted_at_the_next_unlock(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kutui.model import ApiKey, Credential, KeyRef

    home = _with_vault(tmp_path, tiny_kdf)
    vault = home.open_vault(passphrase=Secret(PW))
    key = ApiKey("k1", KeyRef("main", "", "bot"), fingerprint="d3eb")
    credential = Credential(Secret("6705f5c311545b000157d3eb"), Secret("s"), Secret("p"))

    def register(reg: Registry) -> list[str]:
        reg.accounts.append(Account("main"))
        reg.keys.append(key)
        return [key.id]

    def store(data: VaultData) -> set[str]:
        data.put(key.id, credential)
        return {key.id}

    real = Home.update_registry
    calls: list[object] = []

    def dies_on_the_second_write(self: Home, fn: object) -> object:
        calls.append(fn)
        if len(calls) == 2:
            raise _Crash
        return real(self, fn)  # type: ignore[arg-type]

    monkeypatch.setattr(Home, "update_registry", dies_on_the_second_write)
    with pytest.raises(_Crash):
        home.add_credentials(vault, {key.id}, register, store)
    monkeypatch.setattr(Home, "update_registry", real)
    again = Home.load(tmp_path)
    listed = again.registry().key(key.ref)
    assert listed is not None and not listed.has_secret  # listed, not hidden
    assert again.state().adding == (key.id,)  # so the next unlock knows what to look for
    again.open_vault(passphrase=Secret(PW))
    listed = again.registry().key(key.ref)
    assert listed is not None and listed.has_secret  # adopted
    assert again.state().adding == ()


def test_an_unlock_with_nothing_being_added_does_not_read_the_registry(
    tmp_path: Path, tiny_kdf: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading 10,000 keys costs a fifth of a second: an unlock pays it only after a crashed
    add."""
    home = _with_vault(tmp_path, tiny_kdf)

    def no_reading(self: Home) -> None:
        raise AssertionError("the registry was read")

    monkeypatch.setattr(Home, "registry", no_reading)
    vault = home.open_vault(passphrase=Secret(PW))
    assert vault.data.key_ids() == []


def test_add_credentials_refused_by_the_vault_leaves_no_record(
    tmp_path: Path, tiny_kdf: KdfParams
) -> None:
    from kutui.model import ApiKey, KeyRef

    home = _with_vault(tmp_path, tiny_kdf)
    vault = home.open_vault(passphrase=Secret(PW))
    key = ApiKey("k1", KeyRef("main", "", "bot"))

    def register(reg: Registry) -> list[str]:
        reg.accounts.append(Account("main"))
        reg.keys.append(key)
        return [key.id]

    def refuse(data: VaultData) -> set[str]:
        raise UnlockError("refused")

    with pytest.raises(UnlockError):
        home.add_credentials(vault, {key.id}, register, refuse)
    assert home.registry().keys == []
