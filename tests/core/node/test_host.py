"""OsProcessHost on this machine's real OS: files, a free port, a background job, and a real `python -c` child
launched in its own process group with only the allowlisted environment, its output in the node log, ended by
signalling its group."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.node.host import LIFELINE_ENV, LaunchCommand, OsProcessHost, RunningProcess, minimal_env


def _wait(done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_free_port_is_a_port_this_machine_can_bind() -> None:
    port = OsProcessHost().free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_node_folder_files_do_what_they_say(tmp_path: Path) -> None:
    host = OsProcessHost()
    folder = tmp_path / "nodes" / "gpu0"
    host.make_dir(folder)
    host.make_dir(folder)  # already there: not an error
    assert folder.is_dir()
    status = folder / "status.json"
    host.write_text(status, '{"state": "serving"} é')
    assert host.read_text(status) == '{"state": "serving"} é'
    assert status.read_bytes().decode("utf-8") == '{"state": "serving"} é'
    host.write_text(status, "replaced")
    assert host.read_text(status) == "replaced"
    host.remove(status)
    assert not status.exists()
    host.remove(status)  # a missing file is not an error
    with pytest.raises(FileNotFoundError):
        host.read_text(status)
    with pytest.raises(OSError):
        host.write_text(tmp_path / "no" / "such" / "folder" / "f", "x")  # as the OS does


def test_run_in_background_runs_the_job_and_reports_its_exception() -> None:
    host = OsProcessHost()
    release, ran = threading.Event(), threading.Event()

    def job(cancel: threading.Event) -> None:
        ran.set()
        release.wait(5)

    ok = host.run_in_background(job, "test-ok-job")
    assert ran.wait(5) and ok.running() and ok.error() is None
    release.set()
    _wait(lambda: not ok.running())
    assert not ok.running() and ok.error() is None

    def failing(cancel: threading.Event) -> None:
        raise RuntimeError("the runtime download broke")

    bad = host.run_in_background(failing, "test-failing-job")
    _wait(lambda: not bad.running())
    error = bad.error()
    assert isinstance(error, RuntimeError) and str(error) == "the runtime download broke"


def test_cancel_hands_the_job_its_signal_and_does_not_wait_for_it() -> None:
    host = OsProcessHost()
    release = threading.Event()
    seen: list[bool] = []

    def job(cancel: threading.Event) -> None:
        seen.append(cancel.wait(5))
        release.wait(5)  # the job takes its time to end (pip being terminated)
        raise RuntimeError("the install was stopped")

    stoppable = host.run_in_background(job, "test-cancelled-job")
    started = time.monotonic()
    stoppable.cancel()
    assert time.monotonic() - started < 0.5 and stoppable.running()  # cancel() only asks
    _wait(lambda: bool(seen))
    assert seen == [True] and stoppable.running() and stoppable.error() is None
    release.set()
    _wait(lambda: not stoppable.running())
    assert str(stoppable.error()) == "the install was stopped"


CHILD = """
import os, sys, time
print("pgid-is-pid", os.getpgid(0) == os.getpid(), flush=True)
print("lifeline", os.environ.get(sys.argv[2], "") != "", flush=True)
print("keys", ",".join(sorted(k for k in os.environ if k.startswith("FARNODE_"))), flush=True)
print("cwd", os.getcwd(), flush=True)
if sys.argv[1] == "exit":
    sys.exit(3)
time.sleep(60)
"""


def _launch(host: OsProcessHost, tmp_path: Path, mode: str) -> tuple[RunningProcess, list[str], Path]:
    log = host.open_log(tmp_path / "node.log")
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        log.write_line(line)

    command = LaunchCommand([sys.executable, "-c", CHILD, mode, LIFELINE_ENV], tmp_path / "work",
                            minimal_env({"FARNODE_NODE_MARK": "gpu0"}))
    return host.launch(command, on_line), seen, tmp_path / "node.log"


def test_a_launched_child_leads_its_own_group_with_the_allowlisted_env_and_its_output_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_APP_SECRET_PROBE", "must-not-leak")  # in our environment, not in the allowlist
    host = OsProcessHost()
    process, seen, log = _launch(host, tmp_path, "exit")
    assert process.pgid == process.pid != os.getpgid(0)
    _wait(lambda: process.poll() is not None)
    assert process.poll() == 3
    expected = ["pgid-is-pid True", "lifeline True", f"keys {LIFELINE_ENV},FARNODE_NODE_MARK",
                f"cwd {tmp_path / 'work'}"]
    assert seen == expected  # every line read before the exit was reported
    assert process.read_lines() == expected and process.read_lines() == []
    assert "must-not-leak" not in log.read_text(encoding="utf-8")
    assert log.read_text(encoding="utf-8").splitlines() == expected


def test_signalling_the_group_ends_the_child(tmp_path: Path) -> None:
    host = OsProcessHost()
    process, seen, _ = _launch(host, tmp_path, "sleep")
    try:
        _wait(lambda: len(seen) >= 4)
        assert seen[0] == "pgid-is-pid True"
        assert [m.pid for m in host.group_members(process.pgid)] == [process.pid]
        assert host.create_time(process.pid) is not None
        assert host.signal_group(process.pgid, signal.SIGTERM)
        _wait(lambda: process.poll() is not None)
        assert process.poll() == -signal.SIGTERM
        assert host.group_members(process.pgid) == []
        assert not host.signal_group(process.pgid, 0)  # the group is gone (signal 0 only asks)
        assert not host.signal_pid(process.pid, 0)
    finally:
        if process.poll() is None:
            host.signal_group(process.pgid, signal.SIGKILL)


def test_the_group_watch_reads_only_the_groups_own_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor asks every second while a node serves; reading every process on the machine each time cost
    ~2 % of a core (issue 9): only the group's members are read, and they are read in full."""
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        read: list[int] = []

        class Counting(psutil.Process):
            def __init__(self, pid: int | None = None) -> None:
                read.append(-1 if pid is None else pid)
                super().__init__(pid)

        monkeypatch.setattr(psutil, "Process", Counting)
        members = OsProcessHost().group_members(child.pid)
        monkeypatch.undo()
        assert [(m.pid, m.ppid) for m in members] == [(child.pid, os.getpid())]
        assert members[0].status in ("running", "sleeping")
        assert members[0].create_time == psutil.Process(child.pid).create_time()
        assert members[0].name.startswith("python")
        assert set(read) == {child.pid}, f"read {len(set(read))} processes for a group of one"
    finally:
        child.kill()
        child.wait()
