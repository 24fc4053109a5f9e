"""A server group's pid file made hostile: a damaged or forged server.pid never makes `node stop` end another
program, and a valid one still ends the leftover group."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.node.host import OsProcessHost
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group
from farnode_desktop.core.paths import AppPaths

SLEEPER = "import time; time.sleep(120)"


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated program leading its own process group: exactly what a server group looks like from outside."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _created(pid: int) -> float:
    return float(psutil.Process(pid).create_time())


def _pid_files(node_dir: Path) -> list[str]:
    return sorted(p.name for p in node_dir.iterdir() if p.name.startswith(PID_FILE))


def _forged_records(pid: int, created: float) -> list[tuple[str, Any]]:
    return [
        ("create_time null", {"pid": pid, "pgid": pid, "create_time": None}),
        ("create_time text", {"pid": pid, "pgid": pid, "create_time": "abc"}),
        ("create_time NaN", f'{{"pid": {pid}, "pgid": {pid}, "create_time": NaN}}'),
        ("missing fields", {"pgid": pid}),
        ("pid as text", {"pid": str(pid), "pgid": str(pid), "create_time": created}),
        ("pid as bool", {"pid": True, "pgid": True, "create_time": created}),
        ("pid out of range", {"pid": 10**30, "pgid": 10**30, "create_time": created}),
        ("negative pid", {"pid": -pid, "pgid": -pid, "create_time": created}),
        ("a group the pid does not lead", {"pid": pid, "pgid": pid + 1, "create_time": created}),
        ("not an object", [pid, pid, created]),
        ("not JSON", "\x00\xff garbage"),
    ]


def test_a_damaged_server_pid_file_ends_nothing_and_is_moved_aside(
    farnode_home: Path, bystander: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    for why, record in _forged_records(bystander.pid, _created(bystander.pid)):
        for old in node_dir.glob(PID_FILE + "*"):
            old.unlink()
        (node_dir / PID_FILE).write_text(record if isinstance(record, str) else json.dumps(record))
        assert main(["node", "stop", "--name", "cpu"]) == 0, why
        err = capsys.readouterr().err
        assert bystander.poll() is None, f"{why}: node stop ended an unrelated program"
        assert "was not usable" in err and "no process was ended" in err and "Traceback" not in err, why
        names = _pid_files(node_dir)
        assert len(names) == 1 and names[0].startswith(PID_FILE + ".bad-"), (why, names)


@pytest.mark.parametrize("created", ["NaN", '"abc"', "null", "true"])
def test_a_forged_supervisor_pid_file_signals_no_one(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                     created: str) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "supervisor.pid").write_text(f'{{"pid": {bystander.pid}, "create_time": {created}}}')
    assert main(["node", "stop", "--name", "cpu"]) == 0
    assert bystander.poll() is None


def test_a_pid_now_used_by_another_program_is_left_alone(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    stale = _created(bystander.pid) - 3600.0  # our server started an hour before this program got its number
    (node_dir / PID_FILE).write_text(json.dumps({"pid": bystander.pid, "pgid": bystander.pid, "create_time": stale}))
    assert main(["node", "stop", "--name", "cpu"]) == 0
    assert bystander.poll() is None
    assert "is another program now; it was left alone" in capsys.readouterr().err
    assert _pid_files(node_dir) == []


def test_a_valid_pid_file_still_ends_the_leftover_group(tmp_path: Path) -> None:
    leftover = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    try:
        pid_file = tmp_path / PID_FILE
        pid_file.write_text(json.dumps({"pid": leftover.pid, "pgid": leftover.pid,
                                        "create_time": _created(leftover.pid)}))
        assert end_leftover_group(pid_file, OsProcessHost(), SystemClock(), grace_s=5.0) == [leftover.pid]
        assert leftover.wait(timeout=10) is not None
        assert not pid_file.exists()
    finally:
        leftover.kill()
        leftover.wait()
