"""The OS boundary of a node: launch its server in its own process group, read its output, signal the group, and
the node folder's files, a free port and a background job (the runtime install), all through one injected host."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from farnode_desktop.core.node.logfile import RotatingLog


@dataclass(frozen=True)
class LaunchCommand:
    """Everything needed to start one server process; `env` is the child's whole environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class GroupMember:
    pid: int
    name: str
    create_time: float
    ppid: int = 0
    status: str = "running"  # psutil's status: "stopped" is a SIGSTOPped (frozen) process


class RunningProcess(Protocol):
    """A launched server process as the supervisor sees it."""

    pid: int
    pgid: int

    def poll(self) -> int | None: ...

    def read_lines(self) -> list[str]: ...


class BackgroundJob(Protocol):
    """A job the host runs beside the supervisor's ticks (installing the node runtime)."""

    def running(self) -> bool: ...

    def error(self) -> BaseException | None: ...

    def cancel(self) -> None: ...  # sets the Event the job was handed: it ends early (does not wait for it)


Job = Callable[[threading.Event], None]  # a background job; it ends early once its Event is set


class ProcessHost(Protocol):
    """Every OS call the supervisor makes, so tests can replace the OS without monkeypatching."""

    def launch(self, command: LaunchCommand, on_line: Callable[[str], None]) -> RunningProcess: ...

    def signal_pid(self, pid: int, sig: int) -> bool: ...

    def signal_group(self, pgid: int, sig: int) -> bool: ...

    def group_members(self, pgid: int) -> list[GroupMember]: ...

    def create_time(self, pid: int) -> float | None: ...

    def node_marker(self, pid: int) -> str | None: ...  # NODE_MARKER_ENV in the process's environment, if readable

    # the node folder: each raises OSError as the OS does (the supervisor records it as a machine fault)
    def make_dir(self, path: Path) -> None: ...

    def read_text(self, path: Path) -> str: ...

    def write_text(self, path: Path, text: str) -> None: ...

    def remove(self, path: Path) -> None: ...  # a missing file is not an error

    def open_log(self, path: Path) -> RotatingLog: ...

    def free_port(self) -> int: ...

    def run_in_background(self, job: Job, name: str) -> BackgroundJob: ...


LIFELINE_ENV = "FARNODE_LIFELINE_FD"  # read by farnode_desktop.mesh.serve
# A random marker, new at each launch, in the environment of a node's server and so of every process it starts (forked
# Python children and p2pd inherit it): what proves a process is that launch's before FarNode signals it.
NODE_MARKER_ENV = "FARNODE_NODE_MARKER"


class _PopenProcess:
    def __init__(self, popen: subprocess.Popen[str], on_line: Callable[[str], None], lifeline: int) -> None:
        self._popen = popen
        self._lifeline = lifeline  # our end of the server's lifeline: closed when we exit, the server group ends
        self.pid = popen.pid
        self.pgid = popen.pid  # start_new_session: the server leads its own group
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._on_line = on_line
        self._joined = False
        self._reader = threading.Thread(target=self._read, name=f"node-output-{self.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._popen.stdout is not None
        with self._popen.stdout:
            for raw in self._popen.stdout:
                line = raw.rstrip("\n")
                self._on_line(line)
                self._lines.put(line)

    def poll(self) -> int | None:
        code = self._popen.poll()
        if code is not None and not self._joined:
            # every line the process wrote is read before its exit is reported; once only, because children that
            # outlive the server keep the pipe open and every later poll would block (and make the tick's time stale)
            self._reader.join(timeout=2)
            self._joined = True
            self._close_lifeline()
        return code

    def _close_lifeline(self) -> None:
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1

    def __del__(self) -> None:
        self._close_lifeline()

    def read_lines(self) -> list[str]:
        out: list[str] = []
        while True:
            try:
                out.append(self._lines.get_nowait())
            except queue.Empty:
                return out


class _ThreadJob:
    def __init__(self, job: Job, name: str) -> None:
        self._job = job
        self._error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._job(self._cancel)
        except BaseException as exc:  # reported through error(), read by the next tick
            self._error = exc

    def running(self) -> bool:
        return self._thread.is_alive()

    def error(self) -> BaseException | None:
        return None if self.running() else self._error

    def cancel(self) -> None:
        self._cancel.set()


class OsProcessHost:
    """The real OS (POSIX): new sessions, process-group signals, /proc through psutil, files, ports, threads."""

    def launch(self, command: LaunchCommand, on_line: Callable[[str], None]) -> RunningProcess:
        command.cwd.mkdir(parents=True, exist_ok=True)
        # The lifeline: the server inherits only the read end; our write end is close-on-exec and closes when this
        # process dies in any way, which tells the server to end its group (see mesh/serve.py).
        server_end, our_end = os.pipe()
        try:
            popen = subprocess.Popen(
                command.argv,
                cwd=command.cwd,
                env={**command.env, LIFELINE_ENV: str(server_end)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                start_new_session=True,
                pass_fds=(server_end,),
            )
        except BaseException:
            os.close(our_end)
            raise
        finally:
            os.close(server_end)
        return _PopenProcess(popen, on_line, our_end)

    def signal_pid(self, pid: int, sig: int) -> bool:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def signal_group(self, pgid: int, sig: int) -> bool:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return False
        return True

    def group_members(self, pgid: int) -> list[GroupMember]:
        # Asked every second while a node serves: filter by group with one cheap syscall per pid and read /proc only
        # for the group's few members (reading name, times and parent of every process on the machine cost ~4 ms a
        # call, ~2 % of a core on the 2-core bench machine, competing with the server itself).
        members = []
        for pid in psutil.pids():
            try:
                if os.getpgid(pid) != pgid:
                    continue
                proc = psutil.Process(pid)
                with proc.oneshot():
                    status = proc.status()
                    if status == psutil.STATUS_ZOMBIE:
                        continue
                    members.append(GroupMember(pid, proc.name() or "", proc.create_time(), proc.ppid() or 0,
                                               str(status)))
            except (ProcessLookupError, psutil.Error):
                continue
        return members

    def create_time(self, pid: int) -> float | None:
        try:
            return float(psutil.Process(pid).create_time())
        except psutil.Error:
            return None

    def node_marker(self, pid: int) -> str | None:
        try:  # /proc/PID/environ: readable only for this user's own processes
            return psutil.Process(pid).environ().get(NODE_MARKER_ENV)
        except (psutil.Error, OSError):
            return None

    def make_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def read_text(self, path: Path) -> str:
        return path.read_text(encoding="utf-8")

    def write_text(self, path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def open_log(self, path: Path) -> RotatingLog:
        return RotatingLog(path)

    def free_port(self) -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def run_in_background(self, job: Job, name: str) -> BackgroundJob:
        return _ThreadJob(job, name)


def minimal_env(extra: dict[str, str], keep: Sequence[str] = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")) -> dict[str, str]:
    """A child's environment built from an allowlist: nothing of the app's own environment leaks by default."""
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra)
    return env


STOP_SIGNAL = signal.SIGINT
