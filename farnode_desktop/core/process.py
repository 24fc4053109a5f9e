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


class _PopenProcess:
    def __init__(self, popen: subprocess.Popen[str], on_line: Callable[[str], None]) -> None:
        self._popen = popen
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
        return code

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
        popen = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env=command.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        return _PopenProcess(popen, on_line)

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
        for proc in psutil.process_iter(["pid", "name", "create_time"]):
            try:
                if os.getpgid(proc.info["pid"]) != pgid:
                    continue
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
            except (ProcessLookupError, psutil.Error):
                continue
            members.append(GroupMember(proc.info["pid"], proc.info["name"] or "", proc.info["create_time"]))
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
