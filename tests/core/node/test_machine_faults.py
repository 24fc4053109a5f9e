"""The supervisor: faults of the machine (a full disk, an unwritable file) are reported and the node is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.service import NodeService, state_file
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE
from tests.core.node.supervisor_rig import FullDisk, Rig


def test_a_full_disk_never_ends_the_node_service_and_says_so(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    disk = FullDisk()
    service = NodeService(rig.sup, rig.paths, writer=disk)
    rig.sup.start()
    rig.serve()
    for _ in range(3):
        rig.tick(1)
        status = service.publish()  # raised "No space left on device" and ended the service before
    assert status.state is NodeState.SERVING and len(rig.host.launched) == 1  # the node is kept on purpose
    assert "There is not enough free disk space: FarNode cannot save the node's status file" in status.hint
    assert "No space left on device" in status.hint  # the real cause, in the OS's words
    problems = [e for e in rig.log.events if e.topic == "node.problem"]
    assert len(problems) == 1 and not problems[0].data["resolved"]
    disk.full = False
    service.publish()
    rig.tick(1)
    status = service.publish()
    assert "disk space" not in status.hint
    assert json.loads(disk.written[state_file(rig.paths, "gpu0")])["state"] == "serving"
    assert [e.data["resolved"] for e in rig.log.events if e.topic == "node.problem"] == [False, True]


def test_an_unwritable_pid_file_is_reported_and_the_node_still_runs(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    pid_file = rig.paths.node_dir("gpu0") / PID_FILE
    rig.host.on_launch = lambda proc: pid_file.mkdir()  # a real write failure: the path is a folder by then
    rig.sup.start()
    rig.serve()
    status = rig.sup.status()
    assert status.state is NodeState.SERVING
    assert "FarNode cannot save the server's pid file" in status.hint and "Is a directory" in status.hint


def test_a_service_that_cannot_write_its_pid_file_refuses_to_start_in_plain_words(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(FarNodeError, match="There is not enough free disk space") as caught:
        NodeService(rig.sup, rig.paths, writer=FullDisk()).run()
    assert "free some disk space" in caught.value.hint
    assert rig.host.launched == []
