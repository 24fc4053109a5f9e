"""A scripted OS for supervisor unit tests: processes, process groups and signals, behaving as the real ones do.

Its behaviour follows what the integration tests see from a real Petals server: SIGINT to the server exits it
gracefully (with its children), SIGTERM to the group ends every member, SIGKILL always works. Files are real files
(under the test's tmp_path), each operation recorded; ports come from a script; background jobs run when told.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.node.host import NODE_MARKER_ENV, GroupMember, Job, LaunchCommand
from farnode_desktop.core.node.logfile import RotatingLog
from farnode_desktop.mesh.wire import NodeReport, ServerState


@dataclass
class FakeProcess:
    pid: int
    pgid: int
    command: LaunchCommand
    lines: list[str] = field(default_factory=list)
    code: int | None = None
    children: list[GroupMember] = field(default_factory=list)
    ignores: set[int] = field(default_factory=set)  # signals this process (and its group) ignores
    host: FakeHost | None = None
    frozen: bool = False  # the server process itself is SIGSTOPped

    def freeze_child(self, name: str) -> GroupMember:
        """SIGSTOP the first child called `name`; returns it."""
        child = next(c for c in self.children if c.name == name)
        self.children = [dataclasses.replace(c, status="stopped") if c is child else c for c in self.children]
        return child

    def kill_child(self, name: str) -> GroupMember:
        child = next(c for c in self.children if c.name == name)
        self.children = [c for c in self.children if c is not child]
        return child

    def poll(self) -> int | None:
        if self.code is not None and self.host is not None and self.host.clock is not None:
            # a real poll of an exited server blocks while its children still hold the output pipe
            self.host.clock.advance(self.host.exited_poll_cost_s)
        return self.code

    def read_lines(self) -> list[str]:
        out, self.lines = self.lines, []
        return out

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)

    def exit(self, code: int = 1, children_too: bool = True) -> None:
        self.code = code
        if children_too:
            self.children = []


class FakeJob:
    """A background job (the runtime install) that runs at the first look, or when `finish` is called if held; a
    held job that is cancelled stays running until `finish` (as pip takes a moment to end)."""

    def __init__(self, job: Job, held: bool) -> None:
        self._job, self.held, self.done = job, held, False
        self._error: BaseException | None = None
        self.cancelled = threading.Event()  # handed to the job, as the real host does

    def cancel(self) -> None:
        self.cancelled.set()

    def finish(self) -> None:
        try:
            self._job(self.cancelled)
        except BaseException as exc:
            self._error = exc
        self.done = True

    def running(self) -> bool:
        if not self.done and not self.held:
            self.finish()
        return not self.done

    def error(self) -> BaseException | None:
        return self._error if self.done else None


class FakeHost:
    def __init__(self, clock: ManualClock | None = None, exited_poll_cost_s: float = 0.0) -> None:
        self.clock = clock
        self.exited_poll_cost_s = exited_poll_cost_s
        self.launched: list[FakeProcess] = []
        self.signals: list[tuple[str, int, int]] = []
        self.extra_groups: dict[int, list[GroupMember]] = {}
        self.markers: dict[int, str] = {}  # the launch marker of processes not launched here (extra_groups)
        self._next = 1000
        self.on_launch: Callable[[FakeProcess], None] | None = None
        self.launch_error: OSError | None = None  # the OS refuses the next launches with this
        self.files: list[tuple[str, Path]] = []  # ("write" | "read" | "remove" | "mkdir" | "log", path), in order
        self.ports = iter(range(40_001, 41_000))  # what free_port hands out
        self.hold_jobs = False  # background jobs wait for FakeJob.finish
        self.jobs: list[FakeJob] = []

    def launch(self, command: LaunchCommand, on_line: Callable[[str], None]) -> FakeProcess:
        if self.launch_error is not None:
            raise self.launch_error
        self._next += 10
        proc = FakeProcess(self._next, self._next, command,
                           children=[GroupMember(self._next + 1, "python", 10.0, self._next),  # the DHT process
                                     GroupMember(self._next + 2, "p2pd", 10.0, self._next + 1)],  # its daemon
                           host=self)
        self.launched.append(proc)
        if self.on_launch:
            self.on_launch(proc)
        return proc

    def _proc(self, pid: int) -> FakeProcess | None:
        return next((p for p in self.launched if p.pid == pid), None)

    def signal_pid(self, pid: int, sig: int) -> bool:
        self.signals.append(("pid", pid, sig))
        proc = self._proc(pid)
        owner = next((p for p in self.launched if any(c.pid == pid for c in p.children)), None)
        for pgid, members in self.extra_groups.items():  # a leftover group's member obeys SIGTERM
            if any(m.pid == pid for m in members) and sig in (signal.SIGTERM, signal.SIGKILL):
                self.extra_groups[pgid] = [m for m in members if m.pid != pid]
                return True
        if proc is None and owner is not None:  # one member of a group, signalled on its own
            if sig in (signal.SIGTERM, signal.SIGKILL) and (sig == signal.SIGKILL or sig not in owner.ignores):
                owner.children = [c for c in owner.children if c.pid != pid]
            return True
        if proc is None or proc.code is not None:
            return False
        if sig not in proc.ignores:
            proc.exit(-sig if sig != signal.SIGINT else 0)
        return True

    def signal_group(self, pgid: int, sig: int) -> bool:
        self.signals.append(("group", pgid, sig))
        if sig == signal.SIGCONT:
            for proc in self.launched:
                if proc.pgid == pgid:
                    proc.children = [dataclasses.replace(c, status="running") for c in proc.children]
                    proc.frozen = False
            return True
        if pgid in self.extra_groups:
            self.extra_groups[pgid] = []  # a leftover group obeys SIGTERM
            return True
        proc = self._proc(pgid)
        if proc is None:
            return False
        if sig == signal.SIGKILL or sig not in proc.ignores:
            if proc.code is None:
                proc.code = -sig
            proc.children = []
        return True

    def group_members(self, pgid: int) -> list[GroupMember]:
        if pgid in self.extra_groups:
            return list(self.extra_groups[pgid])
        proc = self._proc(pgid)
        if proc is None:
            return []
        members = list(proc.children)
        if proc.code is None:
            members.insert(0, GroupMember(proc.pid, "python", 10.0, 1, "stopped" if proc.frozen else "running"))
        return members

    def create_time(self, pid: int) -> float | None:
        return 10.0

    def node_marker(self, pid: int) -> str | None:
        """Every process of a launched group carries the marker its command's environment gave the server."""
        for proc in self.launched:
            if proc.pid == pid or any(c.pid == pid for c in proc.children):
                return proc.command.env.get(NODE_MARKER_ENV)
        return self.markers.get(pid)

    def make_dir(self, path: Path) -> None:
        self.files.append(("mkdir", path))
        path.mkdir(parents=True, exist_ok=True)

    def read_text(self, path: Path) -> str:
        self.files.append(("read", path))
        return path.read_text(encoding="utf-8")

    def write_text(self, path: Path, text: str) -> None:
        self.files.append(("write", path))
        path.write_text(text, encoding="utf-8")

    def remove(self, path: Path) -> None:
        self.files.append(("remove", path))
        path.unlink(missing_ok=True)

    def open_log(self, path: Path) -> RotatingLog:
        self.files.append(("log", path))
        return RotatingLog(path)

    def free_port(self) -> int:
        return next(self.ports)

    def run_in_background(self, job: Job, name: str) -> FakeJob:
        self.jobs.append(FakeJob(job, self.hold_jobs))
        return self.jobs[-1]


JUST_STARTED = NodeReport(state=ServerState.STARTING, pid=4242, uptime_s=0.0).to_json()
PASSED = {"checks": 1, "passed": 1, "failed": 0, "consecutive_failures": 0, "last_error": "",
          "last_passed_ago_s": 0.5, "last_took_s": 0.03, "running_s": None, "cpu_s": 0.01}


class FakeProbe:
    """The status endpoint: answers with `body` unless `down`. A serving body without a health report gets one whose
    first test request passed, as a healthy server's does (tests of the health check set their own). The fields a
    body leaves out are a just-started server's; the answer is parsed with the wire's strict reader, as
    HttpStatusProbe parses a real one."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}
        self.down = False
        self.calls = 0

    told: bool | None = True  # the answer to "take no new inference session" (False: an older runtime)
    refusals = 0  # how often the supervisor asked

    def refuse_sessions(self, endpoint_file: Any) -> bool | None:
        self.refusals += 1
        return None if self.down else self.told

    def fetch(self, endpoint_file: Any) -> NodeReport | None:
        self.calls += 1
        if self.down or not self.body:
            return None
        body = {**JUST_STARTED, **self.body}
        if body.get("state") == "serving":
            body.setdefault("health", dict(PASSED))
        return NodeReport.from_json(body)
