"""The health check's pieces that need no runtime: the wire form, the verdict, and counters that leave the node's own
test requests out of the served work."""

from __future__ import annotations

from farnode_desktop.core.node.health import judge
from farnode_desktop.core.node.restarts import SupervisorPolicy
from farnode_desktop.mesh.counters import ServedWork
from farnode_desktop.mesh.health import _dial_addrs
from farnode_desktop.mesh.wire import HealthReport, NodeReport, ServerState


def test_the_report_round_trips_and_a_bad_one_is_no_report() -> None:
    report = HealthReport(checks=3, passed=2, failed=1, consecutive_failures=1, last_error="boom",
                          last_passed_ago_s=4.0, last_took_s=0.03, running_s=None, cpu_s=0.2)
    assert HealthReport.from_json(report.to_json()) == report
    for bad in (None, [], {"passed": -1}, {"passed": True}, {"last_error": 5}, {"running_s": "1"},
                {"cpu_s": float("nan")}):
        assert HealthReport.from_json(bad) is None, bad


def test_no_report_is_not_a_pass_and_not_a_failure() -> None:
    verdict = judge(NodeReport(state=ServerState.SERVING, pid=7, uptime_s=1.0), SupervisorPolicy())
    assert (verdict.passed, verdict.broken) == (False, None)


def test_the_nodes_own_test_request_is_not_served_work_even_inside_a_merged_batch() -> None:
    work = ServedWork()
    work.expect_own([0, 1], tokens=1)
    work.record("forward", [0], batch=1, seq=1, seconds=0.01)  # the test request alone through block 0
    work.record("forward", [1], batch=3, seq=1, seconds=0.03)  # merged with a client's 2 tokens at block 1
    work.end_own()
    work.record("forward", [0], batch=1, seq=1, seconds=0.01)  # a client's 1-token forward after the check
    snap = work.snapshot()
    assert snap.tokens_by_block == {"0": 1, "1": 2}
    assert snap.requests["forward"] == 2
    assert snap.own_check_seconds == 0.02


def test_failed_batches_keep_their_error() -> None:
    work = ServedWork()
    work.record_failure(AttributeError("'LlamaModel' object has no attribute '_prepare_decoder_attention_mask'"))
    snap = work.snapshot()
    assert snap.failed_batches == 1 and snap.last_failure.startswith("AttributeError: 'LlamaModel'")


def test_the_node_is_dialled_on_its_addresses_and_on_loopback() -> None:
    addrs = _dial_addrs(["/ip4/203.0.113.5/tcp/31337/p2p/QmPeer", "/ip4/1.2.3.4/tcp/4/p2p/QmR/p2p-circuit/p2p/QmPeer"])
    assert addrs == ["/ip4/203.0.113.5/tcp/31337", "/ip4/127.0.0.1/tcp/31337"]
