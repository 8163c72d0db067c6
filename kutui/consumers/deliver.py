"""Write a key's credentials to one consumer, check them, reload it, and record how it went.

A file target is written with ``kutui.store.files.atomic_write`` (0600, same directory, fsync,
rename), keeping its group; a symlink, a file of another user, or a directory others may write to
is refused before anything is read. The file is read back and must hold exactly the credentials.
A ``command`` consumer gets them as JSON on its stdin (never argv, never the environment). A
reload command runs without them and only its exit status is kept: a program's output may echo
what it was given.

``deliver_recorded`` writes ahead: the consumer is marked ``delivering`` with the new key's
fingerprint before its target is touched, so an interrupted delivery is known to have maybe
reached it (an abort then writes the old key back there).
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess  # nosec B404  # the user's own reload and consumer commands, no shell
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kutui.consumers.formats import FormatProblem, Values, read_values, render
from kutui.errors import KutuiError
from kutui.model import Consumer, ConsumerKind, Credential, Delivery, DeliveryStatus, fingerprint
from kutui.store.files import FILE_MODE, atomic_write, read_private
from kutui.text import clean_text

COMMAND_TIMEOUT = 120.0


class DeliveryLog(Protocol):
    """Where deliveries are recorded (``kutui.store.home.Home``)."""

    def record_delivery(self, key_id: str, name: str, delivery: Delivery) -> bool: ...


class TargetProblem(Exception):
    """One line naming the target and what is wrong; never a credential."""


def _values(cred: Credential) -> Values:
    return (cred.api_key.reveal(), cred.api_secret.reveal(), cred.passphrase.reveal())


def _oserror(path: Path, exc: OSError) -> TargetProblem:
    return TargetProblem(f"{path}: {exc.strerror or type(exc).__name__}")


def _existing(path: Path) -> os.stat_result | None:
    """The target's status, or None when it does not exist yet; refuses what kutui must not
    write through or over."""
    if not path.parent.is_dir():
        raise TargetProblem(f"{path.parent}: the directory does not exist")
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise TargetProblem(f"{path}: is a symbolic link; kutui writes only the real file")
    if not stat.S_ISREG(st.st_mode):
        raise TargetProblem(f"{path}: is not a regular file")
    if st.st_uid != os.getuid():
        raise TargetProblem(f"{path}: is owned by uid {st.st_uid}, not by you; refusing it")
    return st


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TargetProblem(f"{path}: is not UTF-8 text (byte {exc.start})") from None


def read_target(consumer: Consumer) -> tuple[object, ...] | None:
    """The credentials the consumer's file holds now (None: no file), for checks and tests."""
    path = Path(consumer.target)
    if _existing(path) is None:
        return None
    try:
        return read_values(consumer, _text(path, read_private(path)))
    except FormatProblem as exc:
        raise TargetProblem(f"{path}: {exc}") from None


def write_file(consumer: Consumer, cred: Credential) -> str:
    """Put ``cred`` in the consumer's file and read it back; returns what was done."""
    path = Path(consumer.target)
    values = _values(cred)
    try:
        st = _existing(path)
        old = _text(path, read_private(path)) if st is not None else ""
        new = render(consumer, old, values)
        atomic_write(path, new.encode("utf-8"), group=st.st_gid if st is not None else None)
        back = path.lstat()
        held = read_values(consumer, _text(path, read_private(path)))
    except FormatProblem as exc:
        raise TargetProblem(f"{path}: {exc}") from None
    except KutuiError as exc:  # kutui.store.files refusals name the path already
        raise TargetProblem(exc.message) from None
    except OSError as exc:
        raise _oserror(path, exc) from None
    if stat.S_IMODE(back.st_mode) != FILE_MODE or held != values:
        raise TargetProblem(f"{path}: read back, it does not hold the key just written")
    return f"{path} written and read back"


def _argv(command: str, what: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise TargetProblem(f"the {what} cannot be split into words ({exc})") from None
    if not argv:
        raise TargetProblem(f"the {what} is empty")
    return argv


def _run(argv: list[str], stdin: bytes | None, what: str) -> int:
    try:
        done = subprocess.run(  # noqa: S603  # nosec B603  # the user's command, no shell
            argv,
            input=stdin if stdin is not None else b"",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise TargetProblem(f"the {what} {argv[0]!r} was not found") from None
    except subprocess.TimeoutExpired:
        raise TargetProblem(f"the {what} ran longer than {COMMAND_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise TargetProblem(f"the {what} could not run ({exc.strerror or exc})") from None
    return done.returncode


def credentials_json(cred: Credential) -> bytes:
    """What a ``command`` consumer reads on stdin."""
    doc = {
        "api_key": cred.api_key.reveal(),
        "api_secret": cred.api_secret.reveal(),
        "passphrase": cred.passphrase.reveal(),
        "api_version": cred.api_version,
        "exchange": "kucoin",
    }
    return json.dumps(doc).encode("utf-8")


def deliver(consumer: Consumer, cred: Credential, now: datetime) -> Delivery:
    """Deliver ``cred`` to an automatic consumer; the outcome, never an exception for a target
    that refuses (it is the consumer's state: shown, recorded, retried)."""
    if not consumer.kind.automatic:
        raise ValueError(f"{consumer.name} is a manual consumer")
    shown = fingerprint(cred.api_key.reveal())
    try:
        if consumer.kind is ConsumerKind.COMMAND:
            code = _run(_argv(consumer.target, "command"), credentials_json(cred), "command")
            if code != 0:
                raise TargetProblem(f"the command exited with status {code}")
            done = "command exited 0"
        else:
            done = write_file(consumer, cred)
        if consumer.reload:
            code = _run(_argv(consumer.reload, "reload command"), None, "reload command")
            if code != 0:
                return Delivery(
                    now,
                    shown,
                    DeliveryStatus.RELOAD_FAILED,
                    f"{done}; the reload command exited with status {code}",
                )
            done += "; reload exited 0"
    except TargetProblem as exc:
        return Delivery(now, shown, DeliveryStatus.FAILED, clean_text(str(exc)))
    return Delivery(now, shown, DeliveryStatus.DELIVERED, done)


def deliver_recorded(
    log: DeliveryLog, consumer: Consumer, cred: Credential, now: Callable[[], datetime]
) -> Delivery:
    """``deliver``, recorded before (``delivering``) and after (the outcome)."""
    shown = fingerprint(cred.api_key.reveal())
    log.record_delivery(
        consumer.key_id, consumer.name, Delivery(now(), shown, DeliveryStatus.DELIVERING)
    )
    outcome = deliver(consumer, cred, now())
    log.record_delivery(consumer.key_id, consumer.name, outcome)
    return outcome


def tick(log: DeliveryLog, consumer: Consumer, key_fingerprint: str, now: datetime) -> Delivery:
    """A person says the (manual) consumer now uses the key ``key_fingerprint``."""
    outcome = Delivery(now, key_fingerprint, DeliveryStatus.TICKED, "confirmed by a person")
    log.record_delivery(consumer.key_id, consumer.name, outcome)
    return outcome
