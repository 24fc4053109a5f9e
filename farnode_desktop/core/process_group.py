"""Ending a process group for sure (SIGTERM, then SIGKILL, then confirm), and the server pid file that lets the next
start end what a killed app left running."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from farnode_desktop.core.clock import Clock
from farnode_desktop.core.process import ProcessHost, RunningProcess

PID_FILE = "server.pid"


def end_group(host: ProcessHost, pgid: int, clock: Clock, grace_s: float = 5.0, started_after: float = 0.0) -> list[int]:
    """SIGTERM the group, SIGKILL whatever is left after `grace_s`; returns the pids it found running.

    Only members started at or after `started_after` count: an old pgid number may since belong to someone else.
    """

    def members() -> list[int]:
        return [m.pid for m in host.group_members(pgid) if m.create_time >= started_after]

    found = members()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not members():
            break
        host.signal_group(pgid, sig)
        deadline = clock.monotonic() + grace_s
        while members() and clock.monotonic() < deadline:
            clock.sleep(0.1)
    return found


def write_pid_file(path: Path, proc: RunningProcess, create_time: float | None) -> None:
    path.write_text(json.dumps({"pid": proc.pid, "pgid": proc.pgid, "create_time": create_time}))


def end_leftover_group(pid_file: Path, host: ProcessHost, clock: Clock, grace_s: float = 5.0) -> list[int]:
    """End the process group recorded in `pid_file` if any of it still runs; returns the pids that were ended."""
    try:
        record = json.loads(pid_file.read_text())
        pgid, created = int(record["pgid"]), record.get("create_time")
    except (OSError, ValueError, KeyError, TypeError):
        pid_file.unlink(missing_ok=True)
        return []
    # Only processes started with or after the recorded server: a reused pgid number is someone else's.
    ended = end_group(host, pgid, clock, grace_s, started_after=float(created) - 1.0 if created else 0.0)
    pid_file.unlink(missing_ok=True)
    return ended
