"""A rotation's lease: a check-and-set written marker at ``_kutui/leases/<key id>`` naming its
owner and when it expires, so two hosts never rotate one key at once (docs/storage.md,
"OpenBao"). A host that dies holding it blocks the key only until the expiry; every checklist
save renews it. Released, the marker stays with an expiry in the past (a write, not a delete:
every change is a check-and-set).
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from datetime import datetime, timedelta

from kutui.clock import current
from kutui.store.openbao import layout
from kutui.store.openbao.client import Connection, retrying
from kutui.store.openbao.errors import OpenBaoError

KIND = "kutui-lease"


class LeaseHeld(OpenBaoError):
    """Another owner holds the key's lease and it has not expired."""


def owner_name() -> str:
    """Who holds a lease, as another operator should read it; unique per process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:8]})"


class Lease:
    def __init__(self, conn: Connection, key_id: str, owner: str, seconds: int) -> None:
        self.conn = conn
        self.key_id = key_id
        self.owner = owner
        self.seconds = seconds
        self.path = layout.lease_path(conn.settings.prefix, key_id)
        self.version = 0
        self.held = False

    def _read(self) -> tuple[str, datetime | None, int]:
        entry = self.conn.read(self.path)
        if entry is None:
            return "", None, 0
        data = entry.data
        try:
            expires = datetime.fromisoformat(str(data.get("expires_at", "")))
        except ValueError:
            expires = None
        if data.get("kind") != KIND or expires is None or expires.tzinfo is None:
            raise OpenBaoError(
                f"openbao {self.conn.settings.mount}/{self.path} holds something that is not a "
                "kutui lease; nothing was changed"
            )
        return str(data.get("owner", "")), expires, entry.version

    def _write(self, expires: datetime, at: int) -> None:
        doc = {
            "kind": KIND,
            "owner": self.owner,
            "key_id": self.key_id,
            "expires_at": expires.isoformat(),
        }
        self.version = self.conn.write(self.path, doc, at)

    def acquire(self) -> None:
        """Take the lease, or ``LeaseHeld`` naming who has it until when."""

        def attempt() -> None:
            owner, expires, at = self._read()
            now = current().now()
            if owner and owner != self.owner and expires is not None and expires > now:
                raise LeaseHeld(
                    f"{self.conn.settings.where}: key id {self.key_id} is being rotated by "
                    f"{owner} (lease until {expires:%Y-%m-%d %H:%M:%S} UTC)",
                    hint="wait for it to finish, or for the lease to expire, then --resume",
                )
            self._write(now + timedelta(seconds=self.seconds), at)

        retrying(attempt)
        self.held = True

    def renew(self) -> None:
        """Push the expiry on (a checklist save); lost to another owner: ``LeaseHeld``."""
        if not self.held:
            return
        owner, _, at = self._read()
        if owner != self.owner:
            self.held = False
            raise LeaseHeld(
                f"{self.conn.settings.where}: key id {self.key_id}: the rotation lease expired "
                f"and {owner or 'another host'} took it; this run stops here"
            )
        self._write(current().now() + timedelta(seconds=self.seconds), at)

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        owner, _, at = self._read()
        if owner == self.owner:
            self._write(current().now() - timedelta(seconds=1), at)
