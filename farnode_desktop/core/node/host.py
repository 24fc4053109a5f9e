"""The process boundary: launch a node server in its own process group, read its output, signal the group."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil


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


class ProcessHost(Protocol):
    """Every OS call the supervisor makes, so tests can replace the OS without monkeypatching."""

    def launch(self, command: LaunchCommand, on_line: Callable[[str], None]) -> RunningProcess: ...

    def signal_pid(self, pid: int, sig: int) -> bool: ...

    def signal_group(self, pgid: int, sig: int) -> bool: ...

    def group_members(self, pgid: int) -> list[GroupMember]: ...

    def create_time(self, pid: int) -> float | None: ...


LIFELINE_ENV = "FARNODE_LIFELINE_FD"  # read by farnode_desktop.mesh.serve


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


class OsProcessHost:
    """The real OS (POSIX): new sessions, process-group signals, /proc through psutil."""

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
        members = []
        for proc in psutil.process_iter(["pid", "name", "create_time", "ppid"]):
            try:
                if os.getpgid(proc.info["pid"]) != pgid:
                    continue
                status = proc.status()
                if status == psutil.STATUS_ZOMBIE:
                    continue
            except (ProcessLookupError, psutil.Error):
                continue
            members.append(GroupMember(proc.info["pid"], proc.info["name"] or "", proc.info["create_time"],
                                       proc.info["ppid"] or 0, str(status)))
        return members

    def create_time(self, pid: int) -> float | None:
        try:
            return float(psutil.Process(pid).create_time())
        except psutil.Error:
            return None


def minimal_env(extra: dict[str, str], keep: Sequence[str] = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")) -> dict[str, str]:
    """A child's environment built from an allowlist: nothing of the app's own environment leaks by default."""
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra)
    return env


STOP_SIGNAL = signal.SIGINT
