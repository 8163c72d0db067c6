"""``kutui passphrase [--length N]``: a fresh passphrase to KuCoin's rules, from the generator
rotation uses (``kutui.model.generate_passphrase``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kutui.cli import main
from kutui.model import passphrase_problem


def _printed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["passphrase", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=7, max_value=32))
def test_every_allowed_length_gives_a_passphrase_kucoin_accepts(length: int) -> None:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["passphrase", "--length", str(length)]) == 0
    value = out.getvalue().removesuffix("\n")
    assert len(value) == length and "\n" not in value
    assert passphrase_problem(value) is None
    assert any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def test_the_default_is_kucoins_maximum_and_never_repeats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen = set()
    for _ in range(20):
        code, out, err = _printed(capsys)
        assert code == 0 and err == ""
        seen.add(out.strip())
    assert len(seen) == 20 and {len(p) for p in seen} == {32}


@pytest.mark.parametrize("length", ["6", "33", "0", "-1"])
def test_a_length_kucoin_refuses_is_a_usage_error(
    length: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _printed(capsys, "--length", length)
    assert code == 2 and out == ""
    assert "--length must be from 7 to 32" in err
