"""The view-models' plain-language formatting: durations, served-token counts, sizes, short ids and addresses,
FAR amounts and times, at their edges."""

from __future__ import annotations

import datetime as dt

import pytest

from farnode_desktop.ui.viewmodels.format import GIB, count, day_label, duration, far, gib, short_address, short_id, when


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "0 s"), (0, "0 s"), (0.9, "0 s"), (40, "40 s"), (59.99, "59 s"), (60, "1 min"), (3599, "59 min"),
    (3600, "1 h 0 min"), (2 * 3600 + 14 * 60 + 59, "2 h 14 min"), (86_399, "23 h 59 min"), (86_400, "1 d 0 h"),
    (3 * 86_400 + 5 * 3600 + 59 * 60, "3 d 5 h"),
])
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(("n", "text"), [
    (0, "0"), (0.4, "0"), (0.6, "1"), (999, "999"), (1234, "1,234"), (99_999, "99,999"), (100_000, "100 k"),
    (123_456, "123 k"), (999_999, "1000 k"), (1_000_000, "1.0 M"), (4_549_999, "4.5 M"), (12_340_000, "12.3 M"),
])
def test_count_of_served_tokens(n: float, text: str) -> None:
    assert count(n) == text


def test_gib() -> None:
    assert gib(0) == "0.0"
    assert gib(24 * GIB) == "24.0"
    assert gib(11.96 * GIB) == "12.0" and gib(11.94 * GIB) == "11.9"


def test_short_ids_and_addresses() -> None:
    peer = "12D3KooWQm7b9PcZr9vE2x7Yz"
    assert short_id(peer) == "12D3Ko…x7Yz"
    assert short_id(peer, keep=3) == "12D…x7Yz"
    assert short_id("Qm1234567890a") == "Qm1234567890a"  # 13 characters: shorter than what it would become
    assert short_id(None) == short_id("") == "—"
    address = "0x" + "ab12" * 10
    assert short_address(address) == "0xab12…ab12" and len(short_address(address)) == 11
    assert short_address("0x1234567890") == "0x1234567890"
    assert short_address(None) == short_address("") == "—"


@pytest.mark.parametrize(("wei", "text"), [
    (0, "0 FAR"), (10**18, "1 FAR"), (1_234_500_000_000_000_000, "1.2345 FAR"),
    (1_234_567_890_000_000_000, "1.234567 FAR"),  # rounded down to 6 places, never up
    (1, "<0.000001 FAR"), (10**12, "0.000001 FAR"), (1_234_567 * 10**18, "1,234,567 FAR"),
])
def test_far_amounts(wei: int, text: str) -> None:
    assert far(wei) == text


def test_far_with_another_token() -> None:
    assert far(1_500_000, decimals=6, symbol="USDC", places=2) == "1.5 USDC"
    assert far(1, decimals=6, symbol="USDC", places=2) == "<0.01 USDC"


def test_when_today_this_week_and_earlier() -> None:
    now = dt.datetime(2026, 11, 26, 18, 0).timestamp()  # a Thursday, local time
    assert when(dt.datetime(2026, 11, 26, 14, 32).timestamp(), now) == "14:32"
    assert when(dt.datetime(2026, 11, 23, 9, 5).timestamp(), now) == "Mon 09:05"
    assert when(dt.datetime(2026, 11, 2, 14, 32).timestamp(), now) == "2026-11-02 14:32"
    assert when(dt.datetime(2026, 11, 27, 8, 0).timestamp(), now) == "Fri 08:00"  # a clock a little ahead
    assert len(when(dt.datetime.now().timestamp())) == 5  # now: today's time


def test_day_label() -> None:
    assert day_label("2026-11-22") == "Nov 22"
    assert day_label("2026-01-05") == "Jan 05"
    assert day_label("yesterday") == "yesterday"  # not a date: shown as it came


def test_an_error_reads_with_what_to_do_about_it() -> None:
    from farnode_desktop.core.errors import UserInputError
    from farnode_desktop.ui.viewmodels.format import error_text, with_hint

    assert with_hint("node failed", "") == "node failed"
    assert with_hint("node failed", "free some VRAM") == "node failed — free some VRAM"
    assert with_hint("node failed", "free some VRAM", "\n") == "node failed\nfree some VRAM"
    assert error_text(UserInputError("not a model", hint="pick one from the list")) == (
        "not a model — pick one from the list")
    assert error_text(UserInputError("not a model")) == "not a model"
    assert error_text(UserInputError("not a model", hint="pick one"), "\n") == "not a model\npick one"
    assert error_text(OSError("disk full")) == "disk full"  # no hint to add
