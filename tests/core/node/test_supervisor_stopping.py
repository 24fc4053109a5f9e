"""The supervisor: stopping a server group for sure (interrupt, terminate, kill), and ending what a killed app left."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from farnode_desktop.core.node.host import GroupMember
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE
from tests.core.node.supervisor_rig import Rig

MARKER = "5" * 32


def test_stop_escalates_interrupt_terminate_kill_and_confirms_the_group_is_empty(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    proc.ignores = {signal.SIGINT, signal.SIGTERM}  # a wedged server
    rig.sup.stop()
    assert rig.sup.state is NodeState.STOPPING
    assert rig.host.signals[-1] == ("pid", proc.pid, signal.SIGINT)
    assert rig.tick(19) is NodeState.STOPPING
    rig.tick(2)
    assert rig.host.signals[-1] == ("group", proc.pgid, signal.SIGTERM)
    rig.tick(6)
    assert rig.host.signals[-1] == ("group", proc.pgid, signal.SIGKILL)
    assert rig.tick() is NodeState.STOPPED
    assert not (rig.paths.node_dir("gpu0") / PID_FILE).exists()


def test_a_graceful_stop_still_ends_children_the_server_left_one_by_one(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    children = [c.pid for c in proc.children]
    real = rig.host.signal_pid

    def server_exits_alone(pid: int, sig: int) -> bool:
        if pid == proc.pid and sig == signal.SIGINT:
            rig.host.signals.append(("pid", pid, sig))
            proc.exit(0, children_too=False)
            return True
        return real(pid, sig)

    rig.host.signal_pid = server_exits_alone  # type: ignore[method-assign]
    rig.sup.stop()
    rig.tick()  # the server exited but its DHT child and p2pd did not: each, proven by the launch's marker, ends
    assert {("pid", pid, signal.SIGTERM) for pid in children} <= set(rig.host.signals)
    assert not [s for s in rig.host.signals if s[0] == "group"]  # the leader is gone: never its group number
    assert rig.tick() is NodeState.STOPPED


def test_leftovers_of_a_killed_app_are_ended_before_the_next_launch(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    workdir = rig.paths.node_dir("gpu0")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / PID_FILE).write_text(json.dumps({"pid": 77, "pgid": 77, "create_time": 10.0, "marker": MARKER}))
    rig.host.extra_groups[77] = [GroupMember(77, "python", 10.0), GroupMember(78, "p2pd", 10.5)]
    rig.host.markers.update({77: MARKER, 78: MARKER})  # both carry the killed launch's marker
    rig.sup.start()
    assert {("pid", 77, signal.SIGTERM), ("pid", 78, signal.SIGTERM)} <= set(rig.host.signals)  # one by one
    assert not [s for s in rig.host.signals if s[0] == "group" and s[1] == 77]
    assert rig.host.extra_groups[77] == []
    assert rig.sup.state is NodeState.STARTING


def test_a_reused_pgid_of_someone_else_is_left_alone(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    workdir = rig.paths.node_dir("gpu0")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / PID_FILE).write_text(json.dumps({"pid": 77, "pgid": 77, "create_time": 10.0, "marker": MARKER}))
    rig.host.extra_groups[77] = [GroupMember(77, "bash", 2.0)]  # no marker: someone else's
    rig.sup.start()
    assert not any(s[1] == 77 for s in rig.host.signals)
