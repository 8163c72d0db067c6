"""The connection to OpenBao: settings, authentication, KV v2 calls, and one line per failure.

hvac (the maintained Python client for Vault's API, which OpenBao serves) is the optional extra
``kutui[openbao]``, imported on first use. TLS verification is always on (a CA file may be
given); plain http is accepted only to a loopback address (``kutui.model.api_url_problem``, the
rule the KuCoin API URL follows). Every hvac or network failure becomes one ``OpenBaoError``
naming the server and the path (docs/storage.md, "OpenBao").
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kutui import redact
from kutui.model import api_url_problem
from kutui.secret import Secret
from kutui.store.openbao.errors import CasConflict, OpenBaoError

if TYPE_CHECKING:
    from kutui.store.config import StoreConfig

T = TypeVar("T")

TOKEN_VARIABLES = ("BAO_TOKEN", "VAULT_TOKEN")
DEFAULT_TOKEN_FILE = "~/.vault-token"  # noqa: S105  # nosec B105  # a file name
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Settings:
    """``[store]`` of config.toml, for the openbao kind."""

    addr: str
    mount: str = "secret"
    prefix: str = "kutui"
    token_file: str = ""
    ca_file: str = ""
    role_id: str = ""
    secret_id_file: str = ""
    lease_seconds: int = 900

    @classmethod
    def from_config(cls, store: StoreConfig) -> Settings:
        return cls(
            addr=store.addr,
            mount=store.mount,
            prefix=store.prefix,
            token_file=store.token_file,
            ca_file=store.ca_file,
            role_id=store.role_id,
            secret_id_file=store.secret_id_file,
            lease_seconds=store.lease_seconds,
        )

    @property
    def where(self) -> str:
        """How messages name the store: ``openbao http://127.0.0.1:8200 secret/kutui``."""
        return f"openbao {self.addr} {self.mount}/{self.prefix}"


@dataclass(frozen=True)
class Entry:
    """One KV v2 secret as read: its data and the version it is at (for check-and-set)."""

    data: dict[str, Any]
    version: int


def _hvac() -> Any:
    try:
        import hvac
    except ModuleNotFoundError:
        raise OpenBaoError(
            'store.kind is "openbao" but the hvac package is not installed',
            hint="pip install 'kutui[openbao]'",
        ) from None
    return hvac


def _read_secret_file(path: str) -> Secret:
    from kutui.store.unlock import read_passphrase_file

    return read_passphrase_file(Path(path).expanduser()).secret


def find_token(settings: Settings, environ: dict[str, str] | None = None) -> Secret | None:
    """``$BAO_TOKEN``, ``$VAULT_TOKEN``, ``store.token_file``, ``~/.vault-token``: the first set.
    A configured token file must exist; the default one may not."""
    env = os.environ if environ is None else environ
    for name in TOKEN_VARIABLES:
        if env.get(name):
            return Secret(env[name])
    if settings.token_file:
        return _read_secret_file(settings.token_file)
    default = Path(DEFAULT_TOKEN_FILE).expanduser()
    return _read_secret_file(str(default)) if default.is_file() else None


class Connection:
    """A KV v2 mount on one server. Each thread gets its own hvac client (requests' sessions
    are not meant to be shared across threads); the token is found, or AppRole logged in, once.
    """

    def __init__(self, settings: Settings) -> None:
        problem = api_url_problem(settings.addr)
        if problem:
            raise OpenBaoError(f"store.addr {settings.addr!r} {problem}")
        self.settings = settings
        self._hvac = _hvac()
        self._local = threading.local()
        self._token_lock = threading.Lock()
        self._token: Secret | None = None

    # ------------------------------------------------------------------- authentication

    def _new_client(self, token: str | None) -> Any:
        verify: bool | str = self.settings.ca_file or True
        if self.settings.ca_file:
            verify = str(Path(self.settings.ca_file).expanduser())
        return self._hvac.Client(
            url=self.settings.addr, token=token, verify=verify, timeout=TIMEOUT_SECONDS
        )

    def token(self) -> Secret:
        with self._token_lock:
            if self._token is None:
                self._token = self._login()
                redact.register(self._token)
            return self._token

    def _login(self) -> Secret:
        if self.settings.role_id:
            secret_id = _read_secret_file(self.settings.secret_id_file)
            client = self._new_client(None)
            with self.calls("auth/approle/login", "log in with AppRole"):
                answer = client.auth.approle.login(
                    role_id=self.settings.role_id,
                    secret_id=secret_id.reveal(),
                )
            return Secret(str(answer["auth"]["client_token"]))
        token = find_token(self.settings)
        if token is None:
            raise OpenBaoError(
                f"{self.settings.where}: no token",
                hint="set BAO_TOKEN, run 'bao login' (~/.vault-token), or set store.token_file "
                "or store.role_id in config.toml",
            )
        return token

    @property
    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._new_client(self.token().reveal())
            self._local.client = client
        return client

    # ------------------------------------------------------------------- errors

    @contextlib.contextmanager
    def calls(self, path: str, action: str) -> Iterator[None]:
        """Translate what can go wrong talking to the server into one ``OpenBaoError``."""
        import requests

        exc_mod = self._hvac.exceptions
        # A path under auth/ is the server's, not the mount's.
        inside = path if path.startswith("auth/") else f"{self.settings.mount}/{path}"
        where = f"{self.settings.addr}: {inside}"
        try:
            yield
        except exc_mod.VaultDown:
            raise OpenBaoError(
                f"openbao {self.settings.addr} is sealed; could not {action}",
                hint="unseal it ('bao operator unseal') and try again; nothing was changed here",
            ) from None
        except exc_mod.Forbidden:
            raise self._refused(where, action) from None
        except exc_mod.Unauthorized:
            raise self._refused(where, action) from None
        except exc_mod.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                raise CasConflict(f"openbao {where}: changed by another writer") from None
            raise OpenBaoError(f"openbao {where}: refused to {action}: {_why(exc)}") from None
        except exc_mod.VaultError as exc:
            raise OpenBaoError(f"openbao {where}: could not {action}: {_why(exc)}") from None
        except requests.exceptions.SSLError:
            raise OpenBaoError(
                f"openbao {self.settings.addr}: the TLS certificate is not trusted; could not "
                f"{action}",
                hint="give store.ca_file (the CA that signed the server's certificate)",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise OpenBaoError(
                f"openbao {self.settings.addr} cannot be reached ({type(exc).__name__}); could "
                f"not {action}",
                hint="is the server running? Nothing was changed here",
            ) from None

    def _refused(self, where: str, action: str) -> OpenBaoError:
        """403 is both "bad token" and "no policy": asking about the token tells them apart."""
        try:
            self.client.auth.token.lookup_self()
        except Exception:  # noqa: BLE001 - any failure here means the token itself is refused
            return OpenBaoError(
                f"openbao {self.settings.addr}: the token is refused (expired or revoked); "
                f"could not {action}",
                hint="log in again ('bao login') or set BAO_TOKEN; nothing was changed here",
            )
        return OpenBaoError(
            f"openbao {where}: the token's policy does not allow this; could not {action}",
            hint="ask for the operator policy in README, Teams",
        )

    # ------------------------------------------------------------------- KV v2

    @property
    def kv(self) -> Any:
        return self.client.secrets.kv.v2

    def read(self, path: str) -> Entry | None:
        """The latest version, or None when there is none (or it is deleted)."""
        exc_mod = self._hvac.exceptions
        with self.calls(path, "read"):
            try:
                answer = self.kv.read_secret_version(
                    path=path, mount_point=self.settings.mount, raise_on_deleted_version=True
                )
            except exc_mod.InvalidPath:
                return None
        return _entry(answer)

    def read_version(self, path: str, version: int) -> Entry | None:
        exc_mod = self._hvac.exceptions
        with self.calls(path, f"read version {version}"):
            try:
                answer = self.kv.read_secret_version(
                    path=path,
                    version=version,
                    mount_point=self.settings.mount,
                    raise_on_deleted_version=True,
                )
            except exc_mod.InvalidPath:
                return None
        return _entry(answer)

    def write(self, path: str, data: dict[str, Any], cas: int) -> int:
        """Check-and-set write: ``cas`` is the version read (0: the path must be empty).
        Returns the new version; ``CasConflict`` if someone wrote first."""
        with self.calls(path, "write"):
            answer = self.kv.create_or_update_secret(
                path=path, secret=data, cas=cas, mount_point=self.settings.mount
            )
        return int(answer["data"]["version"])

    def delete(self, path: str) -> None:
        """Every version and the metadata (a removed key, an ended lease)."""
        with self.calls(path, "delete"):
            self.kv.delete_metadata_and_all_versions(path=path, mount_point=self.settings.mount)

    def list(self, directory: str) -> list[str]:
        exc_mod = self._hvac.exceptions
        with self.calls(directory, "list"):
            try:
                answer = self.kv.list_secrets(path=directory, mount_point=self.settings.mount)
            except exc_mod.InvalidPath:
                return []
        return [str(name) for name in answer["data"]["keys"]]

    def check(self) -> None:
        """Reach the server and the mount (``kutui init``, ``doctor``): one read."""
        self.read(f"{self.settings.prefix}/_kutui/registry")


def _entry(answer: Any) -> Entry | None:
    body = answer.get("data") or {}
    data = body.get("data")
    if not isinstance(data, dict):
        return None
    return Entry(data=data, version=int(body.get("metadata", {}).get("version", 0)))


def _why(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    text = "; ".join(str(e) for e in errors) if errors else str(exc).split(", on ")[0]
    return text.strip() or type(exc).__name__


#: Check-and-set attempts before a write gives up (each conflict means someone else's write
#: landed: with a handful of operators this is never reached).
ATTEMPTS = 16


def retrying(fn: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``fn()`` again after each ``CasConflict``; past ``attempts``, one clear line."""
    import random
    import time

    for attempt in range(attempts):
        try:
            return fn()
        except CasConflict as exc:
            last = exc
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311  # nosec B311  # jitter only
    raise OpenBaoError(
        f"{last.message} {attempts} times in a row; nothing more was written",
        hint="try again",
    )
