"""What a check run alerts about (``kutui.checks.alerts``): the message stays one chat message."""

from __future__ import annotations

from datetime import UTC, datetime

from kutui.model import ApiKey, CheckResult, KeyRef, Status


def test_a_long_alert_list_is_cut_to_one_chat_message() -> None:
    from kutui.checks.alerts import MAX_NAMED, alerts, message
    from kutui.store.config import Config

    now = datetime(2026, 6, 1, tzinfo=UTC)
    run = [
        (ApiKey(f"id{i}", KeyRef("main", "bots", f"bot{i:02d}")), CheckResult(Status.FROZEN, now))
        for i in range(MAX_NAMED + 7)
    ]
    found = alerts(run, Config(), now)
    title, body = message(found, run)
    assert title == f"kutui: {MAX_NAMED + 7} key(s) need attention"
    assert body.count("  fix: contact KuCoin support") == MAX_NAMED
    assert "… and 7 more: run 'kutui check --all' to see them" in body
    assert len(body) < 4096
