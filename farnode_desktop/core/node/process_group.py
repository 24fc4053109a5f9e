"""Ending a process group for sure (SIGTERM, then SIGKILL, then confirm), and the server pid file that lets the next
start end what a killed app left running: only processes proven to be that launch's (its random marker in their
environment, started with or after the server) are signalled, one by one; anything else is left alone and said."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.core.checked_files import loads_bounded, set_aside
from farnode_desktop.core.clock import Clock
from farnode_desktop.core.node.host import NODE_MARKER_ENV, ProcessHost, RunningProcess

PID_FILE = "server.pid"
MAX_PID = 2**22  # Linux's PID_MAX_LIMIT; macOS's is lower
MAX_PID_FILE_BYTES = 4096
_MARKER = re.compile(r"[0-9a-f]{32}")
__all__ = ["NODE_MARKER_ENV", "BadPidFile", "PidRecord", "end_group", "end_leftover_group", "new_marker",
           "pid_file_text", "proof", "read_pid_record", "write_pid_file"]

log = logging.getLogger("farnode.node")


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
        if sig == signal.SIGTERM:
            host.signal_group(pgid, signal.SIGCONT)  # a frozen (SIGSTOPped) member acts on SIGTERM only once resumed
        host.signal_group(pgid, sig)
        deadline = clock.monotonic() + grace_s
        while members() and clock.monotonic() < deadline:
            clock.sleep(0.1)
    return found


def new_marker() -> str:
    """A launch's marker: put in the launched process's environment (NODE_MARKER_ENV) and in its pid file."""
    return secrets.token_hex(16)


def pid_file_text(proc: RunningProcess, create_time: float | None, marker: str) -> str:
    return json.dumps({"pid": proc.pid, "pgid": proc.pgid, "create_time": create_time, "marker": marker})


def write_pid_file(path: Path, proc: RunningProcess, create_time: float | None, marker: str) -> None:
    path.write_text(pid_file_text(proc, create_time, marker))


@dataclass(frozen=True)
class PidRecord:
    """A server pid file's contents, checked: the server leads its own group, started at `create_time`, and every
    process of that launch carries `marker` in its environment."""

    pid: int
    pgid: int
    create_time: float
    marker: str


class BadPidFile(ValueError):
    """The pid file cannot be trusted to name our server (damaged, hand-edited, or naming a group not ours)."""


def _whole_number(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if type(value) is not int or not 2 <= value <= MAX_PID:
        raise BadPidFile(f"{name} is {str(value)[:20]!r}, not a process id")
    return value


def read_pid_record(pid_file: Path) -> PidRecord:
    """The checked record in `pid_file`; BadPidFile says why it cannot be used."""
    try:
        with pid_file.open("rb") as handle:
            raw = handle.read(MAX_PID_FILE_BYTES + 1)
        if len(raw) > MAX_PID_FILE_BYTES:
            raise BadPidFile("it is far too large")
        record = loads_bounded(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise BadPidFile(str(exc) if isinstance(exc, BadPidFile) else f"it is not readable JSON ({type(exc).__name__})"
                         ) from None
    if not isinstance(record, dict):
        raise BadPidFile("it is not a JSON object")
    pid, pgid = _whole_number(record, "pid"), _whole_number(record, "pgid")
    created = record.get("create_time")
    if not isinstance(created, int | float) or isinstance(created, bool) or not 0 < created < 1e11:  # NaN fails too
        raise BadPidFile(f"create_time is {str(created)[:20]!r}, not a start time")
    if pgid != pid:
        raise BadPidFile(f"it names process group {pgid}, which the server {pid} does not lead")
    if hasattr(os, "getpgrp") and pgid == os.getpgrp():
        raise BadPidFile(f"it names FarNode's own process group {pgid}")
    marker = record.get("marker")
    if not isinstance(marker, str) or not _MARKER.fullmatch(marker):
        raise BadPidFile("it holds no launch marker (an older FarNode's file, or not FarNode's at all)")
    return PidRecord(pid, pgid, float(created), marker)


def proof(host: ProcessHost, pid: int, record: PidRecord) -> str:
    """Why process `pid` is not proven to be of the launch `record` names ("" when it is): it must have started
    with or after that launch's server and carry its marker in its environment."""
    created = host.create_time(pid)
    if created is None:
        return "it has exited"
    if not created >= record.create_time - 1.0:
        return "it started before the node's server did"
    marker = host.node_marker(pid)
    if marker is None:
        return "it carries no FarNode launch marker"
    if not hmac.compare_digest(marker.encode(), record.marker.encode()):
        return "it carries the marker of another launch"
    return ""


def _end_proven(host: ProcessHost, record: PidRecord, clock: Clock, grace_s: float) -> list[int]:
    """SIGCONT + SIGTERM, then SIGKILL, to each member of the recorded group proven to be that launch's, one pid at a
    time and proven again before each signal (never the group as a whole: its number may since be a stranger's)."""

    def proven() -> list[int]:
        return [m.pid for m in host.group_members(record.pgid) if not proof(host, m.pid, record)]

    found = proven()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = proven()
        if not pids:
            break
        for pid in pids:
            if sig == signal.SIGTERM:
                host.signal_pid(pid, signal.SIGCONT)  # a frozen member acts on SIGTERM only once resumed
            host.signal_pid(pid, sig)
        deadline = clock.monotonic() + grace_s
        while proven() and clock.monotonic() < deadline:
            clock.sleep(0.1)
    return found


def end_leftover_group(pid_file: Path, host: ProcessHost, clock: Clock, grace_s: float = 5.0,
                       report: Callable[[str], None] | None = None) -> list[int]:
    """End the process group recorded in `pid_file` if any of it still runs; returns the pids that were ended.

    A file that cannot be trusted ends nothing: it is moved aside (or, if stale, removed) and `report` (and the log)
    get a plain sentence saying so.
    """

    def say(message: str) -> None:
        log.warning("%s", message)
        if report is not None:
            report(message)

    if not pid_file.exists() and not pid_file.is_symlink():
        return []
    try:
        record = read_pid_record(pid_file)
    except BadPidFile as exc:
        aside = set_aside(pid_file)
        if aside is None:
            with contextlib.suppress(OSError):
                pid_file.unlink()
        where = f"it was moved to {aside.name}" if aside else "it was removed"
        say(f"the server pid file {pid_file} was not usable ({exc}); {where} and no process was ended")
        return []
    leader_started = host.create_time(record.pid)
    if leader_started is not None and not abs(leader_started - record.create_time) <= 1.0:
        # The server is gone and its number now belongs to another program: leave that program alone.
        pid_file.unlink(missing_ok=True)
        say(f"process {record.pid} from the server pid file is another program now; it was left alone")
        return []
    # Only processes proven to be this launch's are ended, one by one: with the leader gone, its group number is
    # kept by the group's members, and anything in it without the launch's marker is not ours.
    strangers = [(m, why) for m in host.group_members(record.pgid) if (why := proof(host, m.pid, record))]
    for member, why in strangers[:8]:
        say(f"process {member.pid} ({member.name or 'unnamed'}) in the server's process group {record.pgid} is not"
            f" this node's ({why}); it was left alone")
    ended = _end_proven(host, record, clock, grace_s)
    pid_file.unlink(missing_ok=True)
    return ended
