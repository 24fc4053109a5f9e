"""The supervisor: the server group's processes in the process table: a dead or frozen daemon, DHT process or handler."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import pytest

from farnode_desktop.core.node.host import GroupMember
from farnode_desktop.core.node.status import NodeState
from tests.core.node.supervisor_rig import POLICY, SERVING_BODY, Rig, restart_reason


def test_a_dead_p2pd_restarts_the_server(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.tick(5)
    rig.tick(5)  # the daemons are learnt over two checks
    proc = rig.host.launched[0]
    proc.children = [c for c in proc.children if c.name != "p2pd"]
    rig.tick(5)
    assert rig.tick() is NodeState.STOPPING or rig.sup.state is NodeState.BACKOFF
    rig.tick()
    assert "p2pd" in rig.sup.status().reason


def test_a_p2pd_killed_right_after_serving_is_noticed_within_seconds(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    gone = rig.host.launched[0].kill_child("p2pd")
    reason = restart_reason(rig, within_s=1.5)
    assert f"the networking daemon (p2pd) (pid {gone.pid}) exited" in reason and "restarting in 2 s" in reason


def test_a_p2pd_killed_while_loading_is_noticed_within_seconds(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.tick(1)  # the process table has been read once: the DHT process and its daemon are watched from the start
    rig.host.launched[0].say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    assert rig.tick() is NodeState.LOADING
    rig.host.launched[0].kill_child("p2pd")
    assert "networking daemon (p2pd)" in restart_reason(rig, within_s=1.5)


def test_a_dead_dht_process_or_handler_is_named(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.tick(1)
    rig.host.launched[0].kill_child("python")
    assert "the DHT process" in restart_reason(rig, within_s=1.5)
    rig.tick(3)
    proc = rig.host.launched[-1]
    proc.children.append(GroupMember(proc.pid + 5, "python", 11.0, proc.pid))  # a request handler
    rig.serve()
    rig.tick(1)
    proc.children = [c for c in proc.children if c.pid != proc.pid + 5]
    assert f"the request handler process (pid {proc.pid + 5}) exited" in restart_reason(rig, within_s=1.5)


def test_when_p2pd_and_the_processes_using_it_are_gone_together_p2pd_is_named(tmp_path: Path) -> None:
    # A killed p2pd takes the Python processes that talk through it along, and they were learnt before it: the
    # reason names the cause, p2pd, not the first one learnt.
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.tick(1)
    proc = rig.host.launched[0]
    proc.kill_child("python")
    gone = proc.kill_child("p2pd")
    assert f"the networking daemon (p2pd) (pid {gone.pid}) exited" in restart_reason(rig, within_s=1.5)


def test_a_short_lived_reachability_daemon_while_starting_is_not_a_crash(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    proc = rig.host.launched[0]
    probe = GroupMember(proc.pid + 7, "p2pd", 10.0, proc.pid)  # Petals' reachability check, started by the server
    proc.children.append(probe)
    rig.tick(1)
    rig.tick(1)
    proc.children.remove(probe)
    for _ in range(5):
        assert rig.tick(1) is NodeState.STARTING
    rig.serve()
    assert rig.sup.status().restarts == 0


@pytest.mark.parametrize("frozen", ["p2pd", "python", "server"])
def test_a_stopped_process_counts_as_frozen_not_alive(tmp_path: Path, frozen: str) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    rig.probe.body = dict(SERVING_BODY)  # the endpoint still answers: only the process table tells
    if frozen == "server":
        proc.frozen = True
        pid = proc.pid
    else:
        pid = proc.freeze_child(frozen).pid
    reason = restart_reason(rig, within_s=3.5)
    assert f"(pid {pid}) is frozen" in reason
    term = rig.host.signals.index(("group", proc.pgid, signal.SIGTERM))
    assert rig.host.signals[term - 1] == ("group", proc.pgid, signal.SIGCONT)  # resumed, so SIGTERM can act


def test_handlers_are_learnt_when_serving_is_announced(tmp_path: Path) -> None:
    rig = Rig(tmp_path, policy=dataclasses.replace(POLICY, members_interval_s=3))
    rig.sup.start()
    rig.tick(3)  # one look at the process table while starting
    proc = rig.host.launched[0]
    handler = GroupMember(proc.pid + 5, "python", 11.0, proc.pid)
    proc.children.append(handler)  # the handlers start just before the server says it serves
    rig.serve()
    proc.children.remove(handler)  # and one dies before the supervisor's next look
    assert f"the request handler process (pid {handler.pid}) exited" in restart_reason(rig, within_s=3.5)
