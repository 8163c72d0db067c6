"""The detail pane for one key: permissions seen vs expected, whitelist, findings, note, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from kutui.checks.audit import Severity
from kutui.model import NOT_DEFINITE, PERMISSIONS, ApiKey, Consumer, Status
from kutui.ops.views import last_definite
from kutui.redact import redact
from kutui.rotation.checklist import Checklist, State
from kutui.store.config import Config
from kutui.store.history import HistoryEntry
from kutui.text import clean_message, clean_text
from kutui.tui.keyfacts import ago, key_facts
from kutui.tui.widgets.status_badge import (
    badge,
    explanation_for,
    fix_for,
    in_kutui_for,
    tone_style,
)

_SEVERITY_TONE = {Severity.CRITICAL: "bad", Severity.WARNING: "warn", Severity.INFO: "unknown"}


def permissions_text(key: ApiKey, colors: Mapping[str, str]) -> Text:
    """One line per permission seen or expected; a difference is marked in words, not colour."""
    seen = set(key.permissions_seen)
    expected = set(key.note.expected_permissions)
    names = [p for p in PERMISSIONS if p in seen | expected]
    names += sorted((seen | expected) - set(PERMISSIONS))
    text = Text(end="")
    if not names:
        text.append("none seen yet, none expected (add a note with n)")
        return text
    warn = tone_style("warn", colors, bold=True)
    for name in names:
        shown = clean_text(name)  # permission names come from KuCoin or an edited file
        if not seen:
            # No successful check yet: nothing was seen, so nothing can have drifted.
            text.append(f"  · {shown:<16} expected (not seen yet: no successful check)\n")
        elif not expected:
            text.append(f"  ✓ {shown:<16} seen (no expected set in the note)\n")
        elif name in seen and name in expected:
            text.append(f"  ✓ {shown:<16} seen, expected\n")
        elif name in seen:
            text.append(f"  + {shown:<16} DRIFT: seen but not expected\n", style=warn)
        else:
            text.append(f"  - {shown:<16} DRIFT: expected but not seen\n", style=warn)
    text.rstrip()
    return text


def summary_text(
    key: ApiKey,
    now: datetime,
    colors: Mapping[str, str],
    history: Sequence[HistoryEntry] = (),
) -> Text:
    check = key.last_check
    text = Text(end="")
    text.append(str(key.ref), style="bold")
    text.append("  ")
    text.append_text(badge(key.status, colors))
    if key.status in NOT_DEFINITE:
        # An outage hides nothing about the key: what it was last seen to be still stands.
        known = last_definite(history)
        text.append("  (last known: ")
        if known is None:
            text.append("none yet)")
        else:
            text.append_text(badge(known.status, colors))
            text.append(f", {ago(known.checked_at, now)})")
    # Status first, then what it means, what to do, and the key in kutui that does it.
    if key.status is not Status.OK:
        text.append(f"\n{explanation_for(key.status)}")
        text.append(f"\nFix: {fix_for(key.status)}")
        if hint := in_kutui_for(key.status):
            text.append(f"\nIn kutui: {hint}", style="bold")
    if check and check.message:
        # Redacted at display time (once per key shown, not once per result).
        # Cleaned again here: accounts.toml may have been edited by hand since it was stored.
        text.append(f"\nKuCoin said: {clean_message(redact(check.message))}")
    fields = [
        ("fingerprint", f"…{key.fingerprint}" if key.fingerprint else "unknown"),
        ("key version", f"V{key.api_version}"),
        ("uid", str(check.uid) if check and check.uid is not None else "unknown"),
        ("IP whitelist", _whitelist(key)),
        ("created", f"{key.created_at:%Y-%m-%d}" if key.created_at else "unknown"),
        ("expires", _expires(key, now)),
        ("last checked", ago(check.checked_at if check else None, now)),
    ]
    for name, value in fields:
        text.append(f"\n{name:>13}: {value}")
    return text


def _expires(key: ApiKey, now: datetime) -> str:
    """The date (the table's Expiry says only "SOON (5d)" when it is near)."""
    expires = key.expires_at()
    if expires is None:
        return "never"
    days = (expires - now).days
    return f"{expires:%Y-%m-%d} ({f'in {days}d' if days >= 0 else 'expired'})"


def _whitelist(key: ApiKey) -> str:
    if key.ip_whitelist_seen:
        return clean_text(key.ip_whitelist_seen)
    # Permissions are recorded by every successful check (General at least): without them
    # kutui has never seen the key's whitelist, which is not the same as having none.
    if not key.permissions_seen:
        return "unknown until a check succeeds"
    return "none (any IP address may use this key)"


def findings_text(key: ApiKey, now: datetime, config: Config, colors: Mapping[str, str]) -> Text:
    findings = key_facts(key, now, config).findings
    text = Text(end="")
    if not findings:
        text.append("no audit findings")
        return text
    for finding in findings:
        tone = _SEVERITY_TONE[finding.severity]
        text.append(
            f"{finding.severity.value.upper():>8} ", style=tone_style(tone, colors, bold=True)
        )
        text.append(f"{finding.message}\n         → {finding.fix}\n")
    text.rstrip()
    return text


def history_text(results: Sequence[HistoryEntry], now: datetime, colors: Mapping[str, str]) -> Text:
    text = Text(end="")
    if not results:
        text.append("no checks yet")
        return text
    for result in reversed(results[-10:]):
        text.append(f"{result.checked_at:%Y-%m-%d %H:%M}  ({ago(result.checked_at, now)})  ")
        text.append_text(badge(result.status, colors))
        if result.latency_ms:
            text.append(f"  {result.latency_ms:.0f} ms")
        text.append("\n")
    text.rstrip()
    return text


def rotations_text(rotations: Sequence[Checklist]) -> Text:
    """The key's rotations, newest first: finished, aborted, or open at which step."""
    text = Text(end="")
    if not rotations:
        text.append("never rotated with kutui (press r to start)")
        return text
    for checklist in reversed(rotations[-10:]):
        text.append(f"{checklist.created_at:%Y-%m-%d}  {checklist.id}  ")
        if checklist.state is State.OPEN:
            step = checklist.current_step()
            text.append(f"open at: {step.title if step else 'the end'} (r resumes)")
        elif checklist.state is State.FINISHED:
            text.append(f"finished: …{checklist.old_fingerprint} → …{checklist.new_fingerprint}")
        else:
            text.append("aborted: the old key stayed current")
        text.append("\n")
    text.rstrip()
    return text


def consumers_text(consumers: Sequence[Consumer], noted: Sequence[str] = ()) -> Text:
    """Each consumer record and its last delivery (kutui consumer list says the same). A manual
    consumer the note names (``noted``) and never ticked is left out: the note shows it."""
    text = Text(end="")
    for consumer in consumers:
        last = consumer.last_delivery
        if not consumer.kind.automatic and consumer.name in noted and last is None:
            continue
        when = (
            f"{last.status} …{clean_text(last.fingerprint)} on {last.at:%Y-%m-%d %H:%M}"
            if last is not None
            else "never delivered"
        )
        target = f" {clean_text(consumer.target)}" if consumer.kind.is_file else ""
        text.append(f"consumer {clean_text(consumer.name)} ({consumer.kind}{target}): {when}\n")
    return text


def note_markdown(key: ApiKey) -> str:
    note = key.note
    if note.empty:
        return "*No note yet. Press **n** to say what this key is for and what it may do.*"
    parts = [clean_text(note.text, multiline=True).strip() or "*(no text)*"]
    if note.consumers:
        parts.append("**Used by:** " + ", ".join(f"`{clean_text(c)}`" for c in note.consumers))
    return "\n\n".join(parts)


def _height(text: Text, width: int) -> int:
    """``text``'s height in lines at ``width`` cells when no line wraps; -1 when unsure (a line
    may wrap, a trailing newline)."""
    plain = text.plain
    if not plain:
        return 0
    lines = plain.split("\n")
    if width <= 0 or plain.endswith("\n") or any(cell_len(line) > width for line in lines):
        return -1
    return len(lines)


class KeyDetail(VerticalScroll):
    """Sections stacked in a scrollable column; ``show`` fills them for one key.

    Another key opens at the top (status, meaning, fix); the same key shown again (a check
    result arriving) keeps where the user scrolled to.
    """

    shown_id: str | None = None
    #: The note's Markdown last given to its widget.
    _note: str | None = None

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        #: What each section (by its selector) shows now.
        self._parts: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="detail-summary")
        yield Static("Permissions (seen vs expected)", classes="detail-heading")
        yield Static(id="detail-permissions")
        yield Static("Audit findings", classes="detail-heading")
        yield Static(id="detail-findings")
        yield Static("Note", classes="detail-heading")
        yield Markdown(id="detail-note")
        yield Static("Check history", classes="detail-heading")
        yield Static(id="detail-history")
        yield Static("Rotations", classes="detail-heading")
        yield Static(id="detail-rotations")

    def show(
        self,
        key: ApiKey,
        *,
        now: datetime,
        config: Config,
        colors: Mapping[str, str],
        history: Sequence[HistoryEntry],
        rotations: Sequence[Checklist] = (),
        consumers: Sequence[Consumer] = (),
    ) -> None:
        self._put("#detail-summary", summary_text(key, now, colors, history))
        self._put("#detail-permissions", permissions_text(key, colors))
        self._put("#detail-findings", findings_text(key, now, config, colors))
        self._show_note(note_markdown(key))
        self._put("#detail-history", history_text(history, now, colors))
        # The consumers head the rotations section: a rotation is what delivers to them.
        self._put(
            "#detail-rotations",
            consumers_text(consumers, key.note.consumers) + rotations_text(rotations),
        )
        if key.id != self.shown_id:
            self.shown_id = key.id
            self.scroll_home(animate=False, immediate=True)

    def show_nothing(self, message: str) -> None:
        self.shown_id = None
        self.scroll_home(animate=False, immediate=True)
        self._put("#detail-summary", Text(message))
        for part in (
            "#detail-permissions",
            "#detail-findings",
            "#detail-history",
            "#detail-rotations",
        ):
            self._put(part, Text())
        self._show_note("")

    def _put(self, part: str, text: Text) -> None:
        """Show ``text`` in the section ``part``: not redrawn when it is what is shown, and
        the screen laid out again only when the section's height changes. Each key press in
        the keys table shows another key here, and a layout redraws the whole screen: with a
        check running that was most of a press's wait (bench/yardstick.py)."""
        widget = self.query_one(part, Static)
        old = self._parts.get(part)
        if old is not None and old == text:
            return
        self._parts[part] = text
        width = widget.content_region.width
        same_height = old is not None and _height(old, width) == _height(text, width) != -1
        widget.update(text, layout=not same_height)

    def _show_note(self, markdown: str) -> None:
        # Markdown parses its text and mounts a widget per block on every update: with j held
        # in the keys table (most keys have no note: the same text) that was a good part of
        # each press.
        if markdown != self._note:
            self._note = markdown
            self.query_one("#detail-note", Markdown).update(markdown)
