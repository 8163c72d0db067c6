from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from kutui.redact import RedactingFilter, redact, register
from kutui.secret import MASK, Secret

_secret_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=7, max_size=32
)


@given(value=_secret_text, before=st.text(max_size=40), after=st.text(max_size=40))
def test_a_registered_secret_is_masked_wherever_it_appears(
    value: str, before: str, after: str
) -> None:
    secret = Secret(value)
    register(secret)
    assert value not in redact(before + value + after)


def test_kucoin_shapes_are_masked_without_registration() -> None:
    line = (
        "GET /api/v1/sub/api-key?apiKey=6705f5c311545b000157d3eb&subName=s1&passphrase=abc!@#11 "
        "secret f03a5284-5c39-4aaa-9b20-dea10bdcf8e3 KC-API-SIGN: 7QP/oM0ykidMdr="
    )
    out = redact(line)
    for leaked in ("6705f5c311545b000157d3eb", "abc!@#11", "f03a5284-5c39", "7QP/oM0ykidMdr="):
        assert leaked not in out
    assert MASK in out and "subName=s1" in out


def test_filter_rewrites_formatted_records() -> None:
    secret = Secret("Zq9-never-log-me")
    register(secret)
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "value=%s", ("Zq9-never-log-me",), None
    )
    RedactingFilter().filter(record)
    assert "Zq9-never-log-me" not in record.getMessage()


def test_installed_redaction_reaches_handlers_added_later(caplog: object) -> None:
    import pytest

    from kutui.redact import install_log_redaction

    assert isinstance(caplog, pytest.LogCaptureFixture)
    install_log_redaction()
    kept = Secret("Yy7-late-handler-secret")  # the registry holds weak references only
    register(kept)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("kutui.some.module").debug("sending %s", "Yy7-late-handler-secret")
    assert "Yy7-late-handler-secret" not in caplog.text
    assert "sending" in caplog.text
