"""The supervisor: "serving, but no requests": how long a serving node has had no request, from the status endpoint's
request counters (the node's own test requests are not in them), over the injected clock."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.status import (
    NO_REQUESTS_AFTER_S,
    NodeState,
    NodeStatus,
    no_requests_for,
    state_words,
)
from tests.core.node.supervisor_rig import Rig, health_report


def _quiet_for(rig: Rig, seconds: float) -> None:
    """Let `seconds` pass in watchdog-sized steps (the probe asks the server every 5 s while serving)."""
    left = seconds
    while left > 0:
        step = min(5.0, left)
        assert rig.tick(step) is NodeState.SERVING
        left -= step


def test_a_serving_node_without_requests_says_so_after_the_threshold(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    status = rig.sup.status()
    assert status.no_requests_for_s == 0.0 and state_words(status) == "Serving"
    # its own test requests pass every minute, and its request counters do not move: that is no work arriving
    for passed in range(2, 6):
        rig.probe.body["health"] = health_report(passed=passed)
        _quiet_for(rig, 60)
    status = rig.sup.status()
    assert status.requests == 0 and status.no_requests_for_s == 240.0
    assert state_words(status) == "Serving"  # under the threshold: nothing to say yet
    _quiet_for(rig, NO_REQUESTS_AFTER_S - 240)
    assert state_words(rig.sup.status()) == "Serving — no requests for 5 min"
    _quiet_for(rig, 170)  # 7 min 50 s: what has passed, rounded down
    assert state_words(rig.sup.status()) == "Serving — no requests for 7 min"

    rig.probe.body["requests"] = {"inference": 3}
    rig.probe.body["served_tokens"] = 96
    _quiet_for(rig, 5)
    status = rig.sup.status()
    assert status.requests == 3 and status.no_requests_for_s == 0.0 and state_words(status) == "Serving"
    _quiet_for(rig, 65)
    assert rig.sup.status().no_requests_for_s == 65.0  # counted from the last request seen


def test_the_quiet_time_counts_from_serving_again_after_a_restart_and_only_while_serving(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    _quiet_for(rig, NO_REQUESTS_AFTER_S + 10)
    assert no_requests_for(rig.sup.status()) == NO_REQUESTS_AFTER_S + 10
    rig.sup.pause("a game started")
    rig.tick()
    status = rig.sup.status()
    assert status.state is NodeState.PAUSED and status.no_requests_for_s is None
    assert state_words(status) == "Paused"
    rig.sup.resume("the game ended")
    rig.probe.body = {}  # the new server has not answered yet
    assert rig.sup.state is NodeState.STARTING
    rig.serve()
    _quiet_for(rig, 60)
    status = rig.sup.status()
    assert status.no_requests_for_s == 60.0 and state_words(status) == "Serving"  # not the 5 min before the pause


def test_stop_requested_is_set_at_once_while_the_node_still_stops(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    assert rig.sup.status().stop_requested is False
    rig.sup.stop()
    status = rig.sup.status()
    assert status.state is NodeState.STOPPING and status.stop_requested is True
    rig.sup.start()
    assert rig.sup.status().stop_requested is False


def test_a_status_read_from_the_state_file_counts_on_from_when_it_was_written() -> None:
    written = NodeStatus("cpu", NodeState.SERVING, "serving", no_requests_for_s=200.0, updated_at=1_000.0)
    assert no_requests_for(written, now=1_050.0) is None
    assert no_requests_for(written, now=1_100.0) == 300.0
    assert state_words(written, now=1_100.0 + 3600) == "Serving — no requests for 1 h 5 min"
    back = NodeStatus.from_json(written.to_json())
    assert back.no_requests_for_s == 200.0 and back.stop_requested is False
    old_file = {k: v for k, v in written.to_json().items() if k not in ("no_requests_for_s", "stop_requested")}
    assert NodeStatus.from_json(old_file).no_requests_for_s is None  # a file written before this field
