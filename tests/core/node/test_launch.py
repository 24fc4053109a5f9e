"""Launch preparation: the node folder's files through the host, and a failed write kept as a fault, not raised."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.node.launch import PORT_FILE, NodeFolder
from farnode_desktop.core.node.machine_faults import MachineFaults
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from tests.core.node.fake_os import FakeHost

BACKEND = NativeBackend(Path("/rt/bin/python"), Path("/app"))


def _folder(workdir: Path, seen: list[str]) -> NodeFolder:
    return NodeFolder(workdir, FakeHost(), MachineFaults(lambda text, resolved: seen.append(text)), ManualClock())


def test_a_damaged_port_file_gets_a_fresh_port_from_the_host(tmp_path: Path) -> None:
    seen: list[str] = []
    folder = _folder(tmp_path / "gpu0", seen)
    (tmp_path / "gpu0" / PORT_FILE).write_text("not a port")
    spec = NodeSpec("gpu0", "/models/tiny", port=0)
    command = folder.prepare(spec, BACKEND)
    assert spec.port == 40_001 and (tmp_path / "gpu0" / PORT_FILE).read_text() == "40001"
    assert "/ip4/0.0.0.0/tcp/40001" in command.argv and seen == []


def test_a_port_that_cannot_be_saved_is_a_fault_and_the_launch_goes_on(tmp_path: Path) -> None:
    seen: list[str] = []
    folder = _folder(tmp_path / "gpu0", seen)
    (tmp_path / "gpu0" / PORT_FILE).mkdir()  # a real write failure: the path is a folder
    spec = NodeSpec("gpu0", "/models/tiny", port=0)
    folder.prepare(spec, BACKEND)
    assert spec.port == 40_001
    assert len(seen) == 1 and "FarNode cannot save the node's port" in seen[0] and "Is a directory" in seen[0]
