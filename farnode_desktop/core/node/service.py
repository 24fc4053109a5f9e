"""Runs one node's supervisor as a long-lived service: ticks it, publishes its status file, stops it on a signal."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import check_value, read_json_object
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.host import OsProcessHost, ProcessHost
from farnode_desktop.core.node.machine_faults import explain_os_error
from farnode_desktop.core.node.process_group import PID_FILE, BadPidFile, proof, read_pid_record
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import NodeSupervisor
from farnode_desktop.core.paths import AppPaths

STATE_FILE = "state.json"
SERVICE_PID_FILE = "supervisor.pid"
TICK_S = 0.5
REFRESH_S = 2.0


def state_file(paths: AppPaths, name: str) -> Path:
    return paths.node_dir(name) / STATE_FILE


def read_status(paths: AppPaths, name: str) -> NodeStatus | None:
    """The last status the node's service published, or None if it never ran."""
    try:
        return NodeStatus.from_json(read_json_object(state_file(paths, name)))
    except (OSError, ValueError, TypeError):
        return None


def service_pid(paths: AppPaths, name: str) -> int | None:
    """The pid of the running supervisor service for `name`, if one is alive."""
    try:
        record = read_json_object(paths.node_dir(name) / SERVICE_PID_FILE, max_bytes=4096)
        pid: int = check_value(record.get("pid"), int)
        created: float = check_value(record.get("create_time"), float)
        proc = psutil.Process(pid)
        # `not <=`: a NaN start time must not pass for a match (it would make `node stop` signal a stranger)
        if not abs(proc.create_time() - created) <= 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None


def unsupervised_server(paths: AppPaths, name: str, host: ProcessHost | None = None) -> list[int]:
    """Pids of `name`'s server group that still run although its supervisor does not (a server ends itself within
    seconds of losing its supervisor; one that is frozen cannot). Empty when nothing of it runs."""
    try:
        record = read_pid_record(paths.node_dir(name) / PID_FILE)
    except BadPidFile:
        return []
    host = host or OsProcessHost()
    return [m.pid for m in host.group_members(record.pgid) if not proof(host, m.pid, record)]  # ours, proven


def known_nodes(paths: AppPaths) -> list[str]:
    root = paths.data / "nodes"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []


class NodeService:
    """Owns a supervisor in this process until it has stopped; SIGINT/SIGTERM ask it to stop cleanly."""

    def __init__(self, supervisor: NodeSupervisor, paths: AppPaths,
                 writer: Callable[[Path, str], None] = lambda path, text: write_atomic(path, text, mode=0o644)) -> None:
        self.supervisor = supervisor
        self.writer = writer  # the file boundary (tests inject a full disk here)
        self.paths = paths
        self.name = supervisor.spec.name
        self._stop_requested = threading.Event()
        self._last: dict[str, object] | None = None
        self._last_written = 0.0

    def request_stop(self, *_: object) -> None:
        self._stop_requested.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def publish(self) -> NodeStatus:
        status = self.supervisor.status()
        body = status.to_json()
        comparable = {k: v for k, v in body.items() if k != "updated_at"}
        # write on every change, and every few seconds anyway so readers see the file is fresh
        if comparable != self._last or status.updated_at - self._last_written >= REFRESH_S:
            path, text = state_file(self.paths, self.name), json.dumps(body, indent=1)
            # A full disk or an unwritable file must not end the service (the node would run unsupervised): the
            # fault is recorded, shown in the status, and the write is tried again on the next tick.
            if self.supervisor.faults.attempt("state file", "save the node's status file", lambda: self.writer(path, text)):
                self._last, self._last_written = comparable, status.updated_at
        return status

    def run(self, until_stopped: bool = True) -> NodeStatus:
        """Start the node and keep it supervised until a stop is requested; returns the final status."""
        pid_path = self.paths.node_dir(self.name) / SERVICE_PID_FILE
        try:
            self.writer(pid_path, json.dumps({"pid": os.getpid(), "create_time": psutil.Process().create_time()}))
        except OSError as exc:  # nothing runs yet: refuse to start rather than run a node nobody can find
            raise FarNodeError(explain_os_error("save the node service's pid file", exc),
                               "free some disk space or fix the folder's permissions, then start again") from exc
        try:
            self.supervisor.start()
            stopping = False
            while True:
                if self._stop_requested.is_set() and not stopping:
                    stopping = True
                    self.supervisor.stop()
                self.supervisor.transition(self.supervisor.clock.monotonic())
                status = self.publish()
                if stopping and status.state in (NodeState.STOPPED, NodeState.FAILED):
                    return status
                if status.state is NodeState.FAILED and not until_stopped:
                    return status
                self._stop_requested.wait(TICK_S) if not stopping else self.supervisor.clock.sleep(TICK_S)
        finally:
            self.publish()
            pid_path.unlink(missing_ok=True)
