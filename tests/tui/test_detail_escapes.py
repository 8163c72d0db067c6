"""The detail pane renders outside text cleaned: KuCoin's message, the whitelist and permissions
seen, the note (accounts.toml may have been edited by hand, so it is cleaned again here)."""

from __future__ import annotations

from kutui.model import ApiKey, CheckResult, KeyRef, PermissionNote, Status, now_utc
from kutui.tui.widgets.detail import note_markdown, permissions_text, summary_text

OSC52 = "\x1b]52;c;ZXZpbA==\x07"
CLEAR = "\x1b[2J\x9b31m"


def test_detail_texts_hold_no_escape() -> None:
    now = now_utc()
    key = ApiKey(
        id="k1",
        ref=KeyRef("main", "", "bot"),
        fingerprint="d3eb",
        permissions_seen=("General", f"Spot{CLEAR}"),
        ip_whitelist_seen=f"1.2.**.4{OSC52}",
        note=PermissionNote(text=f"grid bot{OSC52}\nline two", consumers=(f"host{CLEAR}",)),
        last_check=CheckResult(Status.BAD_PASSPHRASE, now, message=f"bad{OSC52}{CLEAR}"),
    )
    rendered = [
        summary_text(key, now, {}).plain,
        permissions_text(key, {}).plain,
        note_markdown(key),
    ]
    for text in rendered:
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, repr(text)
    assert "line two" in rendered[2] and "grid bot" in rendered[2]
