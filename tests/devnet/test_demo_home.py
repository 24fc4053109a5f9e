"""The demo's own folder between runs: a killed demo's processes are ended, its ledger archived (never deleted),
and a demo whose shutdown hits a fault still stops everything and reports the real cause."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.host import NODE_MARKER_ENV, LaunchCommand, OsProcessHost, RunningProcess, minimal_env
from farnode_desktop.core.node.process_group import PID_FILE, end_group, write_pid_file
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.demo import GATEWAY_PID_FILE, DemoNetwork, archive_ledger, demo_paths

MARKER = "a1" * 16  # the killed demo's launch marker
SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']);" \
          " time.sleep(300)"


def _launch_group(host: OsProcessHost, workdir: Path, marker: str = MARKER) -> RunningProcess:
    """A real process group of two (a parent and its child), as a node server and its DHT child would be, both
    carrying the launch's marker in their environment."""
    proc = host.launch(LaunchCommand([sys.executable, "-c", SLEEPER], workdir, minimal_env({NODE_MARKER_ENV: marker})),
                       lambda _line: None)
    deadline = time.monotonic() + 10
    while len(host.group_members(proc.pgid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def _alive(pgid: int, host: OsProcessHost) -> int:
    return len(host.group_members(pgid))


def test_next_demo_ends_what_a_killed_demo_left_running_and_archives_its_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "demo"
    monkeypatch.setenv("FARNODE_DEMO_HOME", str(root))
    paths = AppPaths.under(root).ensure()
    host = OsProcessHost()
    node_dir = paths.node_dir("cpu")
    gateway_dir = paths.data / "gateway"
    node_dir.mkdir(parents=True)
    gateway_dir.mkdir(parents=True)
    node = _launch_group(host, node_dir)
    gateway = _launch_group(host, gateway_dir)
    bystander = psutil.Popen([sys.executable, "-c", "import time; time.sleep(300)"])  # not the demo's: must live
    try:
        write_pid_file(node_dir / PID_FILE, node, host.create_time(node.pid), MARKER)
        write_pid_file(gateway_dir / GATEWAY_PID_FILE, gateway, host.create_time(gateway.pid), MARKER)
        with sqlite3.connect(paths.ledger_file) as db:
            db.execute("create table claims (id text)")
            db.execute("insert into claims values ('claim-1')")
        db.close()
        (paths.models / "tiny").mkdir(parents=True)
        paths.config_file.write_text("{}")
        said: list[str] = []

        fresh = demo_paths(fresh=True, say=said.append)

        assert _alive(node.pgid, host) == 0 and _alive(gateway.pgid, host) == 0
        assert bystander.is_running()
        assert any("ended 4 process" in line for line in said), said
        (archived,) = (root / "archive").glob("*/ledger.sqlite3")
        with sqlite3.connect(archived) as db:
            assert db.execute("select id from claims").fetchall() == [("claim-1",)]
        db.close()
        assert any(str(archived) in line for line in said)
        assert not fresh.ledger_file.exists() and not fresh.config_file.exists()
        assert (fresh.models / "tiny").is_dir()
    finally:
        bystander.kill()
        for proc in (node, gateway):
            end_group(host, proc.pgid, SystemClock(), grace_s=1)


def test_archives_are_kept_up_to_a_limit(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "demo").ensure()
    for n in range(4):
        paths.ledger_file.write_text(f"run {n}")
        assert archive_ledger(paths, keep=2) is not None
    kept = sorted((tmp_path / "demo" / "archive").glob("*/ledger.sqlite3"))
    assert [p.read_text() for p in kept] == ["run 2", "run 3"]
    assert archive_ledger(paths) is None  # nothing to archive: nothing made


class _FullDiskCore:
    """The one part faked: an AppCore whose shutdown hits a full disk while writing its ledger."""

    def __init__(self) -> None:
        self.shutdown_called = False

    def shutdown(self) -> None:
        self.shutdown_called = True
        raise sqlite3.OperationalError("database or disk is full")


def test_stop_stops_everything_even_when_a_step_fails_and_reports_the_real_cause(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "demo").ensure()
    demo = DemoNetwork(paths, NodeRuntime(tmp_path / "no-runtime"))
    gateway_dir = paths.data / "gateway"
    gateway_dir.mkdir(parents=True)
    gateway = _launch_group(demo._host, gateway_dir)
    demo._gateway = gateway
    write_pid_file(gateway_dir / GATEWAY_PID_FILE, gateway, demo._host.create_time(gateway.pid), MARKER)
    core = _FullDiskCore()
    demo.core = core  # type: ignore[assignment]
    info = demo.devnet.start()
    try:
        with pytest.raises(FarNodeError, match="database or disk is full"):
            demo.stop()
        assert core.shutdown_called
        assert _alive(gateway.pgid, demo._host) == 0
        assert not (gateway_dir / GATEWAY_PID_FILE).exists()
        with pytest.raises(OSError):  # the devnet's coordinator port is closed
            import urllib.request

            urllib.request.urlopen(info.coordinator_url, timeout=2)
    finally:
        end_group(demo._host, gateway.pgid, SystemClock(), grace_s=1)
