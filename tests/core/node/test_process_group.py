"""A server group's pid file, stale or forged every way we know, behind a real unrelated live process: `node stop`
never signals it and says plainly what it found; a group proven to be a launch's (its marker in each member's
environment) is still ended, member by member, and a stranger inside that group is left alone."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.node.host import NODE_MARKER_ENV, OsProcessHost
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group, new_marker, read_pid_record
from farnode_desktop.core.paths import AppPaths

SLEEPER = "import time; time.sleep(120)"
# a leader that starts children in its own group and exits: each child's environment is given on its line
ORPHANS = """
import os, subprocess, sys
for env in sys.argv[1:]:
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=dict(os.environ, **eval(env)) if env
                     else {"PATH": os.environ.get("PATH", "")})
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != NODE_MARKER_ENV}
    return {**env, **extra}


def _start(env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True, env=env or _env())


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated program leading its own process group: exactly what a server group looks like from outside."""
    proc = _start()
    yield proc
    proc.kill()
    proc.wait()


def _orphans(*envs: str) -> tuple[int, list[psutil.Process]]:
    """A group whose leader has exited, leaving one child per entry of `envs` (a dict literal of extra environment,
    or "" for a child with an empty environment); returns the group id and the children."""
    leader = subprocess.Popen([sys.executable, "-c", ORPHANS, *envs], start_new_session=True, env=_env())
    leader.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        members = [p for p in psutil.process_iter() if _pgid(p.pid) == leader.pid]
        if len(members) == len(envs):
            return leader.pid, members
        time.sleep(0.05)
    raise AssertionError("the orphaned group did not form")


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _created(pid: int) -> float:
    return float(psutil.Process(pid).create_time())


def _pid_files(node_dir: Path) -> list[str]:
    return sorted(p.name for p in node_dir.iterdir() if p.name.startswith(PID_FILE))


def _node_dir() -> Path:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    return node_dir


def _stop(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["node", "stop", "--name", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.err


def _forged_records(pid: int, created: float) -> list[tuple[str, Any]]:
    marker = new_marker()
    return [
        ("create_time null", {"pid": pid, "pgid": pid, "create_time": None, "marker": marker}),
        ("create_time text", {"pid": pid, "pgid": pid, "create_time": "abc", "marker": marker}),
        ("create_time NaN", f'{{"pid": {pid}, "pgid": {pid}, "create_time": NaN, "marker": "{marker}"}}'),
        ("missing fields", {"pgid": pid}),
        ("pid as text", {"pid": str(pid), "pgid": str(pid), "create_time": created, "marker": marker}),
        ("pid as bool", {"pid": True, "pgid": True, "create_time": created, "marker": marker}),
        ("pid out of range", {"pid": 10**30, "pgid": 10**30, "create_time": created, "marker": marker}),
        ("negative pid", {"pid": -pid, "pgid": -pid, "create_time": created, "marker": marker}),
        ("a group the pid does not lead", {"pid": pid, "pgid": pid + 1, "create_time": created, "marker": marker}),
        ("no marker (an older FarNode's file)", {"pid": pid, "pgid": pid, "create_time": created}),
        ("marker not hex", {"pid": pid, "pgid": pid, "create_time": created, "marker": "x" * 32}),
        ("marker a number", {"pid": pid, "pgid": pid, "create_time": created, "marker": 12}),
        ("not an object", [pid, pid, created]),
        ("not JSON", "\x00\xff garbage"),
    ]


def test_a_damaged_server_pid_file_ends_nothing_and_is_moved_aside(
    farnode_home: Path, bystander: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    node_dir = _node_dir()
    for why, record in _forged_records(bystander.pid, _created(bystander.pid)):
        for old in node_dir.glob(PID_FILE + "*"):
            old.unlink()
        (node_dir / PID_FILE).write_text(record if isinstance(record, str) else json.dumps(record))
        err = _stop(capsys)
        assert bystander.poll() is None, f"{why}: node stop ended an unrelated program"
        assert "was not usable" in err and "no process was ended" in err, why
        names = _pid_files(node_dir)
        assert len(names) == 1 and names[0].startswith(PID_FILE + ".bad-"), (why, names)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("reused pid", "is another program now; it was left alone"),
        ("forged start time", "is not this node's (it carries no FarNode launch marker); it was left alone"),
        ("start time of an earlier program", "it was left alone"),
        ("wrong marker", "is not this node's (it carries the marker of another launch); it was left alone"),
    ],
)
def test_a_stale_or_forged_pid_file_behind_a_live_program_signals_no_one(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    """Each time the pid file is well-formed: only the launch marker in the process's environment tells."""
    other_launch = new_marker()
    proc = _start(_env(**{NODE_MARKER_ENV: other_launch}) if case == "wrong marker" else None)
    try:
        created = _created(proc.pid)
        record = {"pid": proc.pid, "pgid": proc.pid, "create_time": created, "marker": new_marker()}
        if case == "reused pid":  # our server started an hour before this program got its number
            record["create_time"] = created - 3600.0
        if case == "start time of an earlier program":  # a start time within the second of a real one
            record["create_time"] = created + 0.5
        (_node_dir() / PID_FILE).write_text(json.dumps(record))
        err = _stop(capsys)
        assert proc.poll() is None, f"{case}: node stop ended an unrelated program"
        assert expected in err, err
        assert _pid_files(_node_dir()) == []
    finally:
        proc.kill()
        proc.wait()


def test_a_group_whose_leader_has_gone_is_left_alone_without_the_marker(
    farnode_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reported case: server.pid names a group whose leader exited, with a plausible start time. Its members
    are someone else's (no marker): every one of them survives."""
    pgid, members = _orphans("{}", "{}")
    try:
        (_node_dir() / PID_FILE).write_text(json.dumps(
            {"pid": pgid, "pgid": pgid, "create_time": min(p.create_time() for p in members), "marker": new_marker()}))
        err = _stop(capsys)
        time.sleep(0.3)
        assert all(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members)
        for member in members:
            assert f"process {member.pid} (python" in err and "carries no FarNode launch marker" in err
    finally:
        _kill(members)


def test_a_forged_supervisor_pid_file_with_a_real_start_time_signals_no_one(
    farnode_home: Path, bystander: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    (_node_dir() / "supervisor.pid").write_text(json.dumps({"pid": bystander.pid,
                                                           "create_time": _created(bystander.pid)}))
    err = _stop(capsys)
    assert bystander.poll() is None
    assert f"names process {bystander.pid}, which is not this node's service" in err


@pytest.mark.parametrize("created", ["NaN", '"abc"', "null", "true"])
def test_a_damaged_supervisor_pid_file_signals_no_one(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                      created: str) -> None:
    (_node_dir() / "supervisor.pid").write_text(f'{{"pid": {bystander.pid}, "create_time": {created}}}')
    assert main(["node", "stop", "--name", "cpu"]) == 0
    assert bystander.poll() is None


def test_a_valid_pid_file_still_ends_the_leftover_group(tmp_path: Path) -> None:
    marker = new_marker()
    leftover = _start(_env(**{NODE_MARKER_ENV: marker}))
    try:
        pid_file = tmp_path / PID_FILE
        pid_file.write_text(json.dumps({"pid": leftover.pid, "pgid": leftover.pid,
                                        "create_time": _created(leftover.pid), "marker": marker}))
        assert read_pid_record(pid_file).marker == marker
        assert end_leftover_group(pid_file, OsProcessHost(), SystemClock(), grace_s=5.0) == [leftover.pid]
        assert leftover.wait(timeout=10) is not None
        assert not pid_file.exists()
    finally:
        leftover.kill()
        leftover.wait()


def test_a_leaderless_group_is_ended_member_by_member_and_a_stranger_in_it_survives(tmp_path: Path) -> None:
    marker = new_marker()
    pgid, members = _orphans(repr({NODE_MARKER_ENV: marker}), repr({NODE_MARKER_ENV: marker}), "")
    ours: list[psutil.Process] = []
    stranger: list[psutil.Process] = []
    for proc in members:
        (ours if proc.environ().get(NODE_MARKER_ENV) == marker else stranger).append(proc)
    try:
        assert len(ours) == 2 and len(stranger) == 1
        pid_file = tmp_path / PID_FILE
        pid_file.write_text(json.dumps({"pid": pgid, "pgid": pgid,
                                        "create_time": min(p.create_time() for p in members), "marker": marker}))
        said: list[str] = []
        ended = end_leftover_group(pid_file, OsProcessHost(), SystemClock(), grace_s=5.0, report=said.append)
        assert sorted(ended) == sorted(p.pid for p in ours)
        psutil.wait_procs(ours, timeout=10)
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ours)
        assert stranger[0].is_running() and stranger[0].status() != psutil.STATUS_ZOMBIE
        [line] = said
        assert line.startswith(f"process {stranger[0].pid} (python") and line.endswith(
            f"in the server's process group {pgid} is not this node's (it carries no FarNode launch marker);"
            " it was left alone")
    finally:
        _kill(members)


def test_node_status_counts_no_stranger_as_a_leftover_server(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from farnode_desktop.core.node.service import unsupervised_server

    (_node_dir() / PID_FILE).write_text(json.dumps({"pid": bystander.pid, "pgid": bystander.pid,
                                                    "create_time": _created(bystander.pid), "marker": new_marker()}))
    assert unsupervised_server(AppPaths.default(), "cpu") == []
    marker = new_marker()
    ours = _start(_env(**{NODE_MARKER_ENV: marker}))
    try:
        (_node_dir() / PID_FILE).write_text(json.dumps({"pid": ours.pid, "pgid": ours.pid,
                                                        "create_time": _created(ours.pid), "marker": marker}))
        assert unsupervised_server(AppPaths.default(), "cpu") == [ours.pid]
    finally:
        ours.kill()
        ours.wait()
