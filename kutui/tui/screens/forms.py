"""Forms for adding and editing accounts, sub-accounts and keys, plus ``SecretInput``.

Each form is a ``ModalScreen`` that dismisses with a small dataclass, or ``None`` when cancelled.
Secrets are typed into ``SecretInput`` (masked) and leave the form only as ``Secret``; error
messages name the field and the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from kutui.model import (
    DEFAULT_API_URL,
    KeyRef,
    api_key_problem,
    clean_pasted,
    passphrase_problem,
    secret_problem,
    secret_warning,
    valid_name,
)
from kutui.ops.accounts import url_problem
from kutui.secret import Secret

ResultT = TypeVar("ResultT")

NAME_RULE = "1-64 letters, digits or . _ @ + -, starting with a letter or digit"
API_VERSIONS: tuple[int, ...] = (3, 2, 1)


class SecretInput(Input):
    """A masked ``Input`` whose messages never carry the typed value.

    Textual's ``Input.Changed``/``Input.Submitted``/``Input.Blurred`` hold the clear text and print
    it in their repr (docs/security.md, "On screen and on the clipboard"), so anything that logs
    messages would leak it. This input swallows all three and posts value-less
    ``SecretInput.Edited``/``SecretInput.Entered`` instead; read the value with ``take()`` (a
    ``Secret``) at the moment it is needed.
    """

    @dataclass
    class Edited(Message):
        """The value changed (the value itself is not included)."""

        input: SecretInput

        @property
        def control(self) -> SecretInput:
            return self.input

    @dataclass
    class Entered(Message):
        """Enter was pressed (the value itself is not included)."""

        input: SecretInput

        @property
        def control(self) -> SecretInput:
            return self.input

    def __init__(
        self,
        *,
        placeholder: str = "",
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(placeholder=placeholder, password=True, id=id, classes=classes)

    def post_message(self, message: Message) -> bool:
        if isinstance(message, Input.Changed):
            return super().post_message(self.Edited(self))
        if isinstance(message, Input.Submitted):
            return super().post_message(self.Entered(self))
        if isinstance(message, Input.Blurred):
            return False  # it carries the value too, and nothing here needs it
        return super().post_message(message)

    def take(self) -> Secret:
        """The cleaned value (pasted whitespace and zero-width characters removed)."""
        return Secret(clean_pasted(self.value))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AccountFormResult:
    name: str
    api_url: str


@dataclass(frozen=True)
class SubAccountFormResult:
    account: str
    name: str


@dataclass(frozen=True)
class EnteredCredentials:
    api_key: Secret
    api_secret: Secret
    passphrase: Secret


@dataclass(frozen=True)
class KeyFormResult:
    ref: KeyRef
    api_version: int
    #: ``None`` only when the form was opened with ``require_credentials=False`` and all three
    #: secret fields were left empty (keep the stored credentials). With
    #: ``require_credentials=False`` an empty ``Secret`` in it keeps that one stored value.
    credentials: EnteredCredentials | None
    #: Shape warnings the user accepted (e.g. a secret that does not look like a UUID).
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- validation


def api_url_problem(url: str) -> str | None:
    """The rule and words every command uses (``kutui.ops.accounts.url_problem``)."""
    if not url:
        return "the API URL is required"
    return url_problem(url)


def name_problem(what: str, name: str, taken: Collection[str] = ()) -> str | None:
    if not name:
        return f"the {what} is required"
    if not valid_name(name):
        return f"the {what} must be {NAME_RULE}"
    if name in taken:
        return f"the {what} {name!r} already exists"
    return None


# --------------------------------------------------------------------------- base


class FormScreen(ModalScreen[ResultT | None], Generic[ResultT]):
    """Shared layout and keys: enter in any field submits, escape cancels, ctrl+s saves."""

    DEFAULT_CSS = """
    FormScreen {
        align: center middle;
    }
    FormScreen > #form {
        width: 72;
        max-width: 95%;
        height: auto;
        max-height: 95%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    FormScreen #form-title {
        text-style: bold;
        width: 1fr;
        padding: 0 0 1 0;
    }
    FormScreen .field-label {
        margin: 1 0 0 0;
    }
    FormScreen #form-hint {
        color: $text-muted;
    }
    FormScreen .field-error {
        color: $text-error;
        height: auto;
        display: none;
    }
    FormScreen .field-error.-shown {
        display: block;
    }
    FormScreen .field-error.-warning {
        color: $text-warning;
    }
    FormScreen #form-buttons {
        height: auto;
        align-horizontal: right;
        padding: 1 0 0 0;
    }
    FormScreen #form-buttons Button {
        margin: 0 0 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Save", id="form.save"),
    ]

    TITLE_TEXT = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(self.TITLE_TEXT, id="form-title", markup=False)
            with VerticalScroll(id="form-fields", can_focus=False):
                yield from self.compose_fields()
            yield Static("tab next field   enter save   esc cancel", id="form-hint", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()  # this dialog's keys, not the screen's below

    def compose_fields(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        # Focus lands on a field that waits for input, never on a prefilled one with its text
        # selected, where the first letter typed would replace it.
        start = self.start_field()
        if start:
            self.query_one(f"#{start}").focus()

    def start_field(self) -> str | None:
        """The id of the field focus starts on: the first empty one (the first one if none is)."""
        inputs = list(self.query(Input).results())
        empty = [i for i in inputs if not i.value]
        chosen = empty or inputs
        return chosen[0].id if chosen else None

    @staticmethod
    def field(label: str, widget: Input | Select[int], field_id: str) -> ComposeResult:
        yield Label(label, classes="field-label")
        yield widget
        yield Static("", id=f"{field_id}-error", classes="field-error", markup=False)

    def set_error(self, field_id: str, message: str | None, *, warning: bool = False) -> None:
        note = self.query_one(f"#{field_id}-error", Static)
        note.update(message or "")
        note.set_class(bool(message), "-shown")
        note.set_class(warning and bool(message), "-warning")

    def clear_errors(self) -> None:
        for note in self.query(".field-error").results(Static):
            note.update("")
            note.remove_class("-warning", "-shown")

    def value(self, field_id: str) -> str:
        return clean_pasted(self.query_one(f"#{field_id}", Input).value)

    def build(self) -> ResultT | None:
        """Validate; show errors inline and return ``None``, or return the result."""
        raise NotImplementedError

    def action_submit(self) -> None:
        result = self.build()
        if result is not None:
            self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(SecretInput.Entered)
    def _enter_submits(self, event: Message) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()


# --------------------------------------------------------------------------- account


class AccountForm(FormScreen[AccountFormResult]):
    """Add an account (``initial=None``) or edit one (name and API URL)."""

    def __init__(
        self,
        *,
        initial: AccountFormResult | None = None,
        existing_names: Collection[str] = (),
        default_api_url: str = DEFAULT_API_URL,
    ) -> None:
        super().__init__()
        self._initial = initial
        # Editing keeps its own name free.
        self._taken = {n for n in existing_names if initial is None or n != initial.name}
        self._default_url = default_api_url
        self.TITLE_TEXT = "Edit account" if initial else "Add account"

    def compose_fields(self) -> ComposeResult:
        initial = self._initial
        yield from self.field(
            "Name",
            Input(initial.name if initial else "", placeholder="main", id="name"),
            "name",
        )
        yield from self.field(
            "API URL",
            Input(initial.api_url if initial else self._default_url, id="api_url"),
            "api_url",
        )

    def build(self) -> AccountFormResult | None:
        self.clear_errors()
        name, url = self.value("name"), self.value("api_url").rstrip("/")
        problems = {
            "name": name_problem("account name", name, self._taken),
            "api_url": api_url_problem(url),
        }
        for field_id, problem in problems.items():
            self.set_error(field_id, problem)
        if any(problems.values()):
            return None
        return AccountFormResult(name=name, api_url=url)


# --------------------------------------------------------------------------- sub-account


class SubAccountForm(FormScreen[SubAccountFormResult]):
    """Add (or rename) a sub-account of ``account``."""

    def __init__(
        self, account: str, *, initial: str = "", existing_names: Collection[str] = ()
    ) -> None:
        super().__init__()
        self._account = account
        self._initial = initial
        self._taken = {n for n in existing_names if n != initial}
        self.TITLE_TEXT = (
            f"Rename sub-account of {account}" if initial else f"Add a sub-account to {account}"
        )

    def compose_fields(self) -> ComposeResult:
        yield from self.field(
            "Sub-account name", Input(self._initial, placeholder="bot1", id="name"), "name"
        )

    def build(self) -> SubAccountFormResult | None:
        self.clear_errors()
        name = self.value("name")
        problem = name_problem("sub-account name", name, self._taken)
        self.set_error("name", problem)
        return None if problem else SubAccountFormResult(account=self._account, name=name)


# --------------------------------------------------------------------------- key


class KeyForm(FormScreen[KeyFormResult]):
    """Add a key (reference, credentials, key version) or replace an existing key's credentials.

    ``accounts`` maps each known account to its sub-account names; the reference must name one of
    them when it is given. With ``ref`` set the reference fields start filled in. With
    ``require_credentials=False`` each secret field may stay empty (keep what is stored for it).
    A shape *warning* (secret not a UUID) is shown inline first; enter again accepts it.
    """

    def __init__(
        self,
        *,
        ref: KeyRef | None = None,
        accounts: Mapping[str, Sequence[str]] | None = None,
        existing_refs: Collection[KeyRef] = (),
        api_version: int = 3,
        require_credentials: bool = True,
        title: str = "",
    ) -> None:
        super().__init__()
        self._ref = ref
        self._accounts = accounts
        self._taken = {r for r in existing_refs if r != ref}
        self._api_version = api_version if api_version in API_VERSIONS else 3
        self._require = require_credentials
        self._accepted_warnings: tuple[str, ...] = ()
        self.TITLE_TEXT = title or ("Edit key" if ref else "Add key")

    def compose_fields(self) -> ComposeResult:
        ref = self._ref
        yield from self.field(
            "Account",
            Input(ref.account if ref else "", placeholder="main", id="account"),
            "account",
        )
        yield from self.field(
            "Sub-account (empty for a master-account key)",
            Input(ref.sub if ref else "", placeholder="", id="sub"),
            "sub",
        )
        yield from self.field(
            "Label", Input(ref.label if ref else "", placeholder="trading", id="label"), "label"
        )
        keep = "" if self._require else " (empty: keep the stored one)"
        yield from self.field(
            f"API key{keep}", SecretInput(placeholder="24 hex characters", id="api_key"), "api_key"
        )
        yield from self.field(f"API secret{keep}", SecretInput(id="api_secret"), "api_secret")
        yield from self.field(f"API passphrase{keep}", SecretInput(id="passphrase"), "passphrase")
        yield from self.field(
            "Key version",
            Select(
                [(f"v{v}", v) for v in API_VERSIONS],
                value=self._api_version,
                allow_blank=False,
                id="api_version",
            ),
            "api_version",
        )

    def start_field(self) -> str | None:
        # The node the form was opened on fixes account and sub-account (an empty sub-account
        # means a master-account key): start on the label, or on the credentials when editing.
        if self._ref is None:
            return "account"
        return "label" if not self._ref.label else "api_key"

    @on(SecretInput.Edited)
    def _forget_accepted_warning(self) -> None:
        # A changed value must be looked at again before its warning counts as accepted.
        self._accepted_warnings = ()

    def _ref_problems(self) -> tuple[dict[str, str | None], KeyRef | None]:
        account, sub, label = self.value("account"), self.value("sub"), self.value("label")
        problems: dict[str, str | None] = {
            "account": name_problem("account name", account),
            "sub": name_problem("sub-account name", sub) if sub else None,
            "label": name_problem("label", label),
        }
        if self._accounts is not None and not problems["account"]:
            if account not in self._accounts:
                problems["account"] = f"no account named {account!r} (add it first)"
            elif sub and not problems["sub"] and sub not in self._accounts[account]:
                problems["sub"] = f"{account!r} has no sub-account {sub!r} (add it first)"
        if any(problems.values()):
            return problems, None
        ref = KeyRef(account, sub, label)
        if ref in self._taken:
            problems["label"] = f"a key {str(ref)!r} already exists"
            return problems, None
        return problems, ref

    def build(self) -> KeyFormResult | None:
        self.clear_errors()
        problems, ref = self._ref_problems()
        inputs = {f: self.query_one(f"#{f}", SecretInput) for f in ("api_key", "api_secret")}
        inputs["passphrase"] = self.query_one("#passphrase", SecretInput)
        secrets = {f: widget.take() for f, widget in inputs.items()}
        credentials: EnteredCredentials | None = None
        warnings: tuple[str, ...] = ()
        if self._require or any(secrets.values()):
            # Editing: each field on its own (an empty one keeps the stored value), so a wrong
            # passphrase is fixed by typing just the passphrase.
            checked = {f for f, value in secrets.items() if self._require or value}
            if "api_key" in checked:
                problems["api_key"] = api_key_problem(secrets["api_key"].reveal())
            if "passphrase" in checked:
                problems["passphrase"] = passphrase_problem(secrets["passphrase"].reveal())
            if "api_secret" not in checked:
                pass
            elif not secrets["api_secret"]:
                problems["api_secret"] = "the API secret is required"  # noqa: S105  # nosec B105
            elif problem := secret_problem(secrets["api_secret"].reveal()):
                problems["api_secret"] = problem
            else:
                warning = secret_warning(secrets["api_secret"].reveal())
                warnings = (warning,) if warning else ()
            credentials = EnteredCredentials(
                secrets["api_key"], secrets["api_secret"], secrets["passphrase"]
            )
        for field_id, problem in problems.items():
            self.set_error(field_id, problem)
        if any(problems.values()) or ref is None:
            return None
        if warnings and warnings != self._accepted_warnings:
            self._accepted_warnings = warnings
            self.set_error("api_secret", warnings[0] + " - press enter again to save", warning=True)
            return None
        version = self.query_one("#api_version", Select).value
        return KeyFormResult(
            ref=ref,
            api_version=version if isinstance(version, int) else 3,
            credentials=credentials,
            warnings=warnings,
        )
