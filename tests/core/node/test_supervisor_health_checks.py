"""The supervisor: the node's own test requests: serving only once one passed, restarts when they fail, hang or stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.node.status import NodeState
from tests.core.node.supervisor_rig import POLICY, SERVING_BODY, Rig, health_report, restart_reason


def test_serving_only_after_the_first_test_request_through_the_node_passed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    rig.tick()
    rig.probe.body = dict(SERVING_BODY, health=health_report())  # the blocks are up, no test request has passed yet
    for _ in range(3):
        assert rig.tick(1) is NodeState.LOADING
    assert rig.sup.status().reason == "sending a test request through the node"
    assert rig.states() == ["starting", "loading blocks", "loading blocks"]  # said once, not every tick
    rig.probe.body["health"] = health_report(failed=1, error="P2PDaemonError: failed to dial")  # one miss is not enough
    assert rig.tick(1) is NodeState.LOADING
    rig.probe.body["health"] = health_report(passed=1, failed=1)
    assert rig.tick(1) is NodeState.SERVING
    status = rig.sup.status()
    assert status.reason == "serving blocks 0-3 of tiny" and status.restarts == 0
    assert status.health_check == "a test request passed in 0.03 s, 1 s ago"


def test_failing_test_requests_restart_a_serving_node_with_what_failed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    error = "P2PHandlerError: Failed to call handler `rpc_forward`: RuntimeError: 'LlamaModel' has no attribute"
    rig.probe.body.update(failed_batches=7, health=health_report(passed=3, failed=1, error=error))
    rig.tick(5)
    status = rig.sup.status()
    assert status.state is NodeState.SERVING  # one failure may be a passing hiccup: the prober confirms in 5 s
    assert status.failed_requests == 7 and status.health_check == f"the last test request failed: {error}"
    rig.probe.body["health"] = health_report(passed=3, failed=2, error=error)
    reason = restart_reason(rig, within_s=5.5)  # the endpoint answers and the process table is fine: still failed
    assert reason == (f"the node answers its status endpoint but a test request through it failed 2 times in a "
                      f"row: {error}; restarting in 2 s")
    assert rig.sup.status().restarts == 1
    rig.probe.body = {}
    rig.tick(2.1)
    assert rig.sup.state is NodeState.STARTING and len(rig.host.launched) == 2  # backoff, then a fresh server
    rig.serve()


def test_a_node_whose_test_requests_never_pass_backs_off_then_cools_down(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    for attempt in range(POLICY.crash_limit):
        proc = rig.host.launched[-1]
        proc.say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
        rig.probe.body = dict(SERVING_BODY, health=health_report(failed=2, error="no answer within 20 s"))
        while rig.tick(0.5) is not NodeState.BACKOFF and rig.sup.state is not NodeState.FAILED:
            assert rig.sup.state is not NodeState.SERVING
        if attempt < POLICY.crash_limit - 1:
            assert "a test request through it failed 2 times in a row: no answer within 20 s" in rig.sup.status().reason
            rig.probe.body = {}
            while rig.tick(0.5) is NodeState.BACKOFF:
                pass
    status = rig.sup.status()
    assert status.state is NodeState.FAILED and status.retry_in_s == pytest.approx(600, abs=1)
    assert "(last: the node answers its status endpoint but a test request through it failed" in status.reason


def test_a_test_request_that_hangs_counts_as_failed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["health"] = health_report(passed=2, running_s=POLICY.health_stuck_s + 1)
    assert "a test request through it failed: it has not answered for 61 s" in restart_reason(rig, within_s=5.5)


def test_a_node_whose_test_requests_stopped_passing_is_restarted(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["health"] = dict(health_report(passed=4), last_passed_ago_s=POLICY.health_silent_s - 1)
    rig.tick(5)
    assert rig.sup.state is NodeState.SERVING
    rig.probe.body["health"] = dict(health_report(passed=4), last_passed_ago_s=POLICY.health_silent_s + 5)
    assert "no test request has passed for 205 s" in restart_reason(rig, within_s=5.5)
