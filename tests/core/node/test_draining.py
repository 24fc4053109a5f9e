"""Draining: a serving node serves on while its inference sessions are open, stops gracefully once they have
finished (or its deadline passed), and then relaunches or stays stopped as asked."""

from __future__ import annotations

import signal
from pathlib import Path

from farnode_desktop.core.node.status import NodeState
from tests.core.node.supervisor_rig import Rig

S = NodeState
SESSION = 2 * 1024 * 1024  # the attention cache one open session holds


def _serving(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["sessions_cache_bytes"] = SESSION
    return rig


def test_a_drain_waits_for_open_sessions_then_relaunches(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    first = rig.host.launched[-1]
    rig.sup.drain("the network no longer asks for this model", deadline_s=120, relaunch=True)
    assert rig.sup.state is S.DRAINING
    for _ in range(5):  # a session stays open: the node keeps serving it, no signal is sent
        assert rig.tick(2) is S.DRAINING
    assert first.code is None and rig.host.signals == []
    rig.probe.body["sessions_cache_bytes"] = 0  # the session closed
    rig.tick(1)  # the answer that says so
    rig.tick()
    assert rig.host.signals[0][2] == signal.SIGINT  # Petals' graceful stop, never a kill
    rig.probe.body = {}
    for _ in range(3):
        rig.tick()
    assert rig.sup.state is S.STARTING and len(rig.host.launched) == 2  # onto the new plan, at once
    reasons = [e.reason for e in rig.log.events if e.topic == "node.state"]
    assert any("its inference sessions have finished" in r for r in reasons)
    assert reasons[-1] == "relaunched: the network no longer asks for this model"


def test_a_drain_for_a_runtime_switch_stays_stopped(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.probe.body["sessions_cache_bytes"] = 0
    rig.sup.drain("switching to a new node runtime", deadline_s=120, relaunch=False)
    assert rig.sup.state is S.DRAINING  # the quiet answer must come after the drain began
    rig.tick(1)
    rig.probe.body = {}
    for _ in range(3):
        rig.tick(1)
    assert rig.sup.state is S.STOPPED and len(rig.host.launched) == 1
    rig.sup.start()
    assert rig.sup.state is S.STARTING


def test_the_deadline_bounds_a_drain(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.sup.drain("switching to a new node runtime", deadline_s=30, relaunch=False)
    assert rig.tick(29) is S.DRAINING
    rig.tick(2)
    assert rig.sup.state in (S.STOPPING, S.STOPPED)
    assert "the drain deadline passed with sessions still open" in rig.sup.status().reason


def test_a_server_that_does_not_report_sessions_is_never_taken_as_quiet(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    del rig.probe.body["sessions_cache_bytes"]  # an older runtime's status answer
    rig.sup.drain("switching to a new node runtime", deadline_s=60, relaunch=False)
    assert rig.tick(30) is S.DRAINING
    assert rig.tick(31) in (S.STOPPING, S.STOPPED)


def test_a_node_not_serving_yet_stops_at_once_and_a_stopped_one_stays(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.sup.drain("switching to a new node runtime", deadline_s=60, relaunch=False)
    assert rig.sup.state in (S.STOPPING, S.STOPPED)
    idle = Rig(tmp_path / "idle")
    idle.sup.drain("switching to a new node runtime", deadline_s=60, relaunch=False)
    assert idle.sup.state is S.STOPPED and idle.host.launched == []


def test_the_providers_stop_overrides_a_drain(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.sup.drain("the plan changed", deadline_s=120, relaunch=True)
    rig.sup.stop()
    rig.probe.body = {}
    rig.tick()
    assert rig.tick() is S.STOPPED
    assert rig.tick(5) is S.STOPPED  # no relaunch after the provider's stop


def test_the_node_refuses_new_sessions_before_a_quiet_answer_counts(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.probe.told = None  # the node does not answer "take no new session" yet
    rig.probe.body["sessions_cache_bytes"] = 0
    rig.sup.drain("switching to a new node runtime", deadline_s=120, relaunch=False)
    assert rig.probe.refusals == 1  # told at once, before any answer is weighed
    assert rig.tick(1) is S.DRAINING  # a quiet answer, but a session could still open: the drain waits
    assert rig.probe.refusals == 2 and rig.host.signals == []
    rig.probe.told = True
    rig.tick(1)  # confirmed; the answer read after it is quiet
    assert rig.probe.refusals == 3
    rig.tick()
    assert rig.host.signals and rig.host.signals[0][2] == signal.SIGINT


def test_a_session_let_in_but_not_yet_holding_cache_keeps_the_node_draining(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.probe.body.update(sessions_cache_bytes=0, sessions_open=1)  # let in just before the refusal
    rig.sup.drain("the plan changed", deadline_s=120, relaunch=True)
    for _ in range(5):
        assert rig.tick(1) is S.DRAINING
    assert rig.host.signals == []
    rig.probe.body["sessions_open"] = 0
    rig.tick(1)
    rig.tick()
    assert rig.host.signals[0][2] == signal.SIGINT


def test_a_node_that_cannot_be_told_is_judged_by_its_cache_after_a_few_tries(tmp_path: Path) -> None:
    rig = _serving(tmp_path)
    rig.probe.told = None  # never answers (its endpoint hangs)
    rig.probe.body["sessions_cache_bytes"] = 0
    rig.sup.drain("switching to a new node runtime", deadline_s=120, relaunch=False)
    for _ in range(4):
        rig.tick(1)
    assert rig.probe.refusals == 3  # TELL_TRIES, then the drain goes on without it
    assert rig.sup.state in (S.STOPPING, S.STOPPED)
