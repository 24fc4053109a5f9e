"""Served work that adds up across server restarts (each server counts from zero), and tokens/s over a window."""

from __future__ import annotations

import pytest

from farnode_desktop.core.node.served_tally import ServedTally
from farnode_desktop.mesh.wire import NodeReport, ServedCounts, ServerState


def _answer(tokens: int, inference: int = 0, forward: int = 0) -> NodeReport:
    served = ServedCounts(served_tokens=tokens, requests={"inference": inference, "forward": forward})
    return NodeReport(ServerState.SERVING, pid=42, uptime_s=1.0, served=served)


def test_totals_add_up_across_restarts_and_the_rate_starts_over() -> None:
    tally = ServedTally(window_s=60)
    assert (tally.tokens, tally.requests, tally.rate()) == (0, 0, 0.0)
    tally.update(0, _answer(100, inference=2, forward=1))
    tally.update(10, _answer(300, inference=3, forward=1))
    assert (tally.tokens, tally.requests) == (300, 4)  # the endpoint's counters are totals, not increments
    assert tally.rate() == pytest.approx(20.0)
    tally.new_server()
    assert (tally.tokens, tally.requests, tally.rate()) == (300, 4, 0.0)
    tally.update(20, _answer(50, inference=1))
    assert (tally.tokens, tally.requests) == (350, 5)
    tally.new_server()
    tally.new_server()  # a server that died before it answered adds nothing
    tally.update(30, _answer(10))
    assert (tally.tokens, tally.requests) == (360, 5)


def test_the_rate_covers_only_the_window() -> None:
    tally = ServedTally(window_s=60)
    tally.update(0, _answer(0))
    tally.update(30, _answer(6000))  # a burst, then slow
    tally.update(90, _answer(6600))
    assert tally.rate() == pytest.approx(10.0)  # the sample at 0 s fell out: (6600 - 6000) / 60
    single = ServedTally(window_s=60)
    single.update(5, _answer(100))
    assert single.rate() == 0.0
    same_time = ServedTally(window_s=60)
    same_time.update(5, _answer(100))
    same_time.update(5, _answer(200))
    assert same_time.rate() == 0.0


def test_the_last_request_is_when_the_request_count_grew() -> None:
    tally = ServedTally(window_s=60)
    tally.update(0, _answer(0))
    assert tally.last_request_at is None  # a server with only its own test requests: they are not counted
    tally.update(5, _answer(40, inference=2))
    tally.update(10, _answer(40, inference=2))  # the same totals again: no new request
    assert tally.last_request_at == 5
    tally.new_server()
    tally.update(20, _answer(0))  # the new server counts from zero: that is no request either
    assert tally.last_request_at == 5
    tally.update(25, _answer(8, forward=1))
    assert tally.last_request_at == 25
