"""`farnode runtime update --lock F` end to end on a real second runtime: a lock that changes one small pure-Python
wheel is prepared beside a clone of the test runtime, a real node serves the tiny model from it on loopback and
passes its test request, then the runtime switches; `farnode runtime rollback` goes back to the one before."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.runtime_versions import RuntimeVersions
from tests.core.updates.runtime_rig import clone_runtime, lock_with, variant_wheel


def _six(location: Path) -> str:
    return subprocess.run([str(location / "bin" / "python"), "-c", "import six; print(six.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_update_then_rollback(farnode_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    location = farnode_home / "data" / "runtime"
    current = clone_runtime(location)
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(location))
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    wheel = variant_wheel(current, "six", "1.17.0.post1", tmp_path / "wheels",
                          {"six.py": (current.site_packages / "six.py").read_bytes().replace(
                              b'__version__ = "1.17.0"', b'__version__ = "1.17.0.post1"')})
    (tmp_path / "lock.txt").write_bytes(lock_with(current, "six", wheel))
    assert main(["runtime", "update", "--lock", str(tmp_path / "lock.txt")]) == 0
    out = capsys.readouterr().out
    assert "starting a node on the new runtime to check it serves" in out
    assert "is now current (1 package changed: six)" in out
    assert location.is_symlink() and _six(location) == "1.17.0.post1"
    assert NodeRuntime(location).is_installed() and NodeRuntime(location).lock.read_bytes() == wheel_lock(tmp_path)
    assert main(["runtime", "rollback"]) == 0
    assert _six(location) == "1.17.0" and RuntimeVersions(location).pointer()["previous"] is None


def wheel_lock(tmp_path: Path) -> bytes:
    return (tmp_path / "lock.txt").read_bytes()
