"""Stopping a server group: the phases in order, each after its grace, and the survivors named when even SIGKILL fails."""

from __future__ import annotations

import signal
from pathlib import Path

from farnode_desktop.core.node.host import GroupMember, LaunchCommand
from farnode_desktop.core.node.restarts import SupervisorPolicy
from farnode_desktop.core.node.stopping import GroupStop, StopPhase
from tests.core.node.fake_os import FakeHost

POLICY = SupervisorPolicy(stop_grace_s=20, term_grace_s=5, kill_grace_s=5)


def _wedged(host: FakeHost) -> tuple[int, int]:
    proc = host.launch(LaunchCommand(["python"], Path("."), {}), lambda line: None)
    proc.ignores = {signal.SIGINT, signal.SIGTERM}
    return proc.pid, proc.pgid


def test_a_graceful_stop_escalates_phase_by_phase_until_the_group_is_gone() -> None:
    host = FakeHost()
    pid, pgid = _wedged(host)
    stop = GroupStop.begin(host, host.launched[0], POLICY, now=0.0, graceful=True)
    assert stop.phase is StopPhase.INTERRUPT and host.signals == [("pid", pid, signal.SIGINT)]
    assert stop.step(20.0) is None and stop.phase is StopPhase.INTERRUPT  # the grace is not over yet
    assert stop.step(20.5) is None and stop.phase is StopPhase.TERMINATE
    assert host.signals[-2:] == [("group", pgid, signal.SIGCONT), ("group", pgid, signal.SIGTERM)]
    assert stop.step(25.0) is None and stop.phase is StopPhase.TERMINATE
    assert stop.step(25.6) is None and stop.phase is StopPhase.KILL
    assert host.signals[-1] == ("group", pgid, signal.SIGKILL)
    assert stop.step(25.7) == []  # SIGKILL worked: nothing of the group is left


def test_a_stop_that_is_not_graceful_terminates_the_group_at_once() -> None:
    host = FakeHost()
    _, pgid = _wedged(host)
    stop = GroupStop.begin(host, host.launched[0], POLICY, now=0.0, graceful=False)
    assert stop.phase is StopPhase.TERMINATE
    assert host.signals == [("group", pgid, signal.SIGCONT), ("group", pgid, signal.SIGTERM)]


def test_survivors_of_sigkill_are_named_once_its_grace_is_spent() -> None:
    host = FakeHost()
    _wedged(host)
    stuck = GroupMember(4242, "python", 10.0, 1, "disk-sleep")  # in uninterruptible sleep: not even SIGKILL ends it
    host.group_members = lambda pgid: [stuck]  # type: ignore[method-assign]
    stop = GroupStop.begin(host, host.launched[0], POLICY, now=0.0, graceful=False)
    assert stop.step(5.5) is None and stop.phase is StopPhase.KILL
    assert stop.step(10.0) is None
    assert stop.step(10.6) == [stuck]
