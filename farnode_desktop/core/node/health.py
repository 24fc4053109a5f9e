"""Judging a node by its own test requests (mesh/health.py sends them): it is serving only once one has passed, and
test requests that keep failing, or one that hangs, are a reason to restart it, in words that say what failed."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop.core.node.restarts import SupervisorPolicy
from farnode_desktop.mesh.wire import HealthReport, NodeReport

WAITING = "sending a test request through the node"
_FAILED = "the node answers its status endpoint but a test request through it failed"


@dataclass(frozen=True)
class Verdict:
    """What one status answer says about the node's test requests."""

    passed: bool  # at least one test request through this server has passed
    broken: str | None  # why the server must be restarted, or None
    text: str  # one line for `node status` and the dashboard


def judge(answer: NodeReport, policy: SupervisorPolicy) -> Verdict:
    report = answer.health
    if report is None:
        return Verdict(False, None, "")
    broken = None
    if report.consecutive_failures >= policy.health_failures:
        times = "" if report.consecutive_failures == 1 else f" {report.consecutive_failures} times in a row"
        broken = f"{_FAILED}{times}: {report.last_error or 'no error was given'}"
    elif report.running_s is not None and report.running_s > policy.health_stuck_s:
        broken = f"{_FAILED}: it has not answered for {report.running_s:.0f} s"
    elif report.last_passed_ago_s is not None and report.last_passed_ago_s > policy.health_silent_s:
        broken = f"the node answers its status endpoint but no test request has passed for {report.last_passed_ago_s:.0f} s"
    return Verdict(report.passed > 0, broken, _text(report))


def _text(report: HealthReport) -> str:
    if report.consecutive_failures:
        return f"the last test request failed: {report.last_error}"
    if report.last_passed_ago_s is not None:
        took = f" in {report.last_took_s:.2f} s" if report.last_took_s is not None else ""
        return f"a test request passed{took}, {report.last_passed_ago_s:.0f} s ago"
    return "no test request has finished yet"


def failed_requests(answer: NodeReport | None) -> int:
    """Requests this server's blocks failed (the runtime's failed batches), as its status endpoint counts them."""
    return 0 if answer is None else answer.served.failed_batches
