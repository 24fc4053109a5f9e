"""The runtime pointer: a switch (the first one moves the original runtime in among the versions) and a rollback,
and a SIGKILL at every step of a switch leaves a working runtime once settled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import MARKER, OWN_LOCK, NodeRuntime
from farnode_desktop.core.node.runtime_versions import READY, RuntimeVersions, clone_tree, relocate, version_id
from tests.core.updates.runtime_rig import clone_runtime

STEPS = ["journal written", "original moved", "original relocated", "pointer written", "link made",
         "link replaced", "journal removed"]


def _second(current: NodeRuntime, versions: RuntimeVersions, note: bytes = b"# a newer lock\n") -> str:
    """A prepared version beside `current` whose lock differs by a comment (same packages: no pip needed)."""
    lock = current.lock.read_bytes() + note
    vid = version_id(lock)
    target = versions.path(vid)
    clone_tree(current.location, target)
    relocate(target, current.location)
    (target / OWN_LOCK).write_bytes(lock)
    marker = json.loads((current.location / MARKER).read_text())
    (target / MARKER).write_text(json.dumps({**marker, "lock_sha256": NodeRuntime(target).lock_digest()}))
    (target / READY).write_text("{}")
    return vid


def _works(location: Path) -> str:
    runtime = NodeRuntime(location)
    assert runtime.is_installed(), f"{location} -> {location.resolve()} is not an installed runtime"
    code = "import os, sys, six; print(os.path.realpath(sys.prefix))"
    out = subprocess.run([str(location / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True,
                         timeout=60).stdout.strip()
    return out


def test_switch_then_rollback_then_the_third_removes_the_first(tmp_path: Path) -> None:
    current = clone_runtime(tmp_path / "runtime")
    versions = RuntimeVersions(current.location)
    original = versions.current_id()
    second = _second(current, versions)
    assert versions.switch(second) == original
    assert current.location.is_symlink() and current.location.resolve() == versions.path(second)
    assert versions.pointer() == {"current": second, "previous": original}
    assert _works(current.location) == str(versions.path(second))
    assert versions.rollback() == original
    assert _works(current.location) == str(versions.path(original))  # the original, relocated, still runs
    assert not versions.path(second).exists()  # kept for one rollback, then removed
    with pytest.raises(FarNodeError, match="no previous node runtime"):
        versions.rollback()
    third = _second(NodeRuntime(current.location), versions, b"# third\n")
    versions.switch(third)
    fourth = _second(NodeRuntime(current.location), versions, b"# fourth\n")
    versions.switch(fourth)
    assert sorted(p.name for p in versions.folder.iterdir() if p.is_dir()) == sorted([third, fourth])


KILLER = """
import os, signal, sys
from pathlib import Path
from farnode_desktop.core.node.runtime_versions import RuntimeVersions
count, at = [0], int(sys.argv[3])
def step(name):
    count[0] += 1
    if count[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
RuntimeVersions(Path(sys.argv[1]), step=step).switch(sys.argv[2])
"""


@pytest.mark.parametrize("at", range(1, len(STEPS) + 1))
def test_a_sigkill_at_any_step_of_a_switch_leaves_a_working_runtime(tmp_path: Path, at: int) -> None:
    current = clone_runtime(tmp_path / "runtime")
    versions = RuntimeVersions(current.location)
    original = versions.current_id()
    second = _second(current, versions)
    killed = subprocess.run([sys.executable, "-c", KILLER, str(current.location), second, str(at)],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    versions.settle()  # what the app does before it uses the runtime
    prefix = _works(current.location)
    assert prefix in (str(versions.path(original)), str(versions.path(second)), str(current.location))
    assert (Path(prefix) / READY).is_file() or prefix == str(current.location)
    versions.switch(second)  # and the switch, tried again, completes
    assert _works(current.location) == str(versions.path(second))
