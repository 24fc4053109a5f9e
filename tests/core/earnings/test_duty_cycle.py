"""The duty cycle: each tick's time goes to serving (the counter grows), idle (up without requests), paused or
stopped; a long silence (the app was off) counts as nothing; the record outlives the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.daily_totals import day_start
from farnode_desktop.core.earnings.duty_cycle import ACTIVE_WITHIN_S, DutyCycle
from farnode_desktop.core.node.status import NodeState, NodeStatus

T0 = day_start("2026-12-07")


def status(state: NodeState, served: int, name: str = "gpu0") -> NodeStatus:
    return NodeStatus(name=name, state=state, reason="", served_tokens=served)


def test_each_state_gets_the_time_it_lasted(tmp_path: Path) -> None:
    duty = DutyCycle(tmp_path / "duty.json")
    t, served = T0, 0
    duty.observe(t, [status(NodeState.SERVING, served)])
    for _ in range(60):  # 10 min of requests, every 10 s
        t, served = t + 10, served + 500
        assert duty.observe(t, [status(NodeState.SERVING, served)]) == "serving"
    for _ in range(30):  # 5 min up without requests: serving for the rate's window, then idle
        t += 10
        duty.observe(t, [status(NodeState.SERVING, served)])
    for _ in range(18):  # 3 min paused for a game
        t += 10
        assert duty.observe(t, [status(NodeState.PAUSED, served)], gaming=True) == "gaming"
    for _ in range(6):  # 1 min paused by the provider
        t += 10
        assert duty.observe(t, [status(NodeState.PAUSED, served)]) == "paused"
    for _ in range(6):  # 1 min stopped
        t += 10
        assert duty.observe(t, [status(NodeState.STOPPED, served)]) == "stopped"
    day = duty.totals.day("2026-12-07")
    assert day == {"serving": pytest.approx(600 + ACTIVE_WITHIN_S), "idle": pytest.approx(300 - ACTIVE_WITHIN_S),
                   "gaming": pytest.approx(180), "paused": pytest.approx(60), "stopped": pytest.approx(60)}
    shares = duty.shares(["2026-12-07"])
    assert shares.serving == pytest.approx(660 / 1200) and shares.recorded_s == pytest.approx(1200)
    assert shares.gaming == pytest.approx(180 / 1200)


def test_one_serving_gpu_makes_the_pc_serving_and_a_new_counter_is_no_growth(tmp_path: Path) -> None:
    duty = DutyCycle(tmp_path / "duty.json")
    duty.observe(T0, [status(NodeState.PAUSED, 0, "gpu0"), status(NodeState.SERVING, 900, "gpu1")])
    assert duty.observe(T0 + 5, [status(NodeState.PAUSED, 0, "gpu0"), status(NodeState.SERVING, 1000, "gpu1")]) \
        == "serving"
    fresh = DutyCycle(tmp_path / "other.json")
    fresh.observe(T0, [status(NodeState.SERVING, 1000)])
    # a relaunched node's counter starts again from 0: that is no served work
    assert fresh.observe(T0 + 5, [status(NodeState.SERVING, 10)]) == "idle"


def test_a_gap_while_the_app_was_off_counts_as_nothing_and_the_record_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "duty.json"
    duty = DutyCycle(path)
    duty.observe(T0, [status(NodeState.PAUSED, 0)])
    duty.observe(T0 + 60, [status(NodeState.PAUSED, 0)])
    duty.observe(T0 + 3600, [status(NodeState.PAUSED, 0)])  # an hour later: the PC slept
    duty.close(T0 + 3600)
    again = DutyCycle(path)
    assert again.totals.day("2026-12-07")["paused"] == pytest.approx(60)
    assert again.totals.first_seen == T0
