"""Stopping a server group for sure: the stop phases (interrupt, terminate, kill) as an Enum, each with its grace.
While the server leads its group the group is signalled whole; once it has exited, its group number is kept only by
its members, so each member is signalled on its own, and only if it carries the launch's marker."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import Enum

from farnode_desktop.core.node.host import GroupMember, ProcessHost, RunningProcess
from farnode_desktop.core.node.restarts import SupervisorPolicy


class StopPhase(Enum):
    INTERRUPT = "interrupt"  # SIGINT to the server: Petals' own graceful stop
    TERMINATE = "terminate"  # SIGCONT, then SIGTERM to the whole group
    KILL = "kill"  # SIGKILL to the whole group


def signal_members(host: ProcessHost, proc: RunningProcess, marker: str, sig: int) -> None:
    """`sig` to the server's group: whole while the server leads it; with the server gone (and reaped), to each
    member proven by the launch's marker, one by one (the bare group number proves nothing any more)."""
    if not marker or proc.poll() is None:
        if sig == signal.SIGTERM:  # a frozen (SIGSTOPped) member acts on SIGTERM only once resumed
            host.signal_group(proc.pgid, signal.SIGCONT)
        host.signal_group(proc.pgid, sig)
        return
    for member in host.group_members(proc.pgid):
        if host.node_marker(member.pid) == marker:
            if sig == signal.SIGTERM:
                host.signal_pid(member.pid, signal.SIGCONT)
            host.signal_pid(member.pid, sig)


@dataclass
class GroupStop:
    """One stop in progress: its phase and since when; `step` escalates once the phase's grace has run out."""

    host: ProcessHost
    proc: RunningProcess
    policy: SupervisorPolicy
    phase: StopPhase
    since: float
    marker: str = ""  # the launch's marker (core/node/launch.py): proves a member is this server's

    @classmethod
    def begin(cls, host: ProcessHost, proc: RunningProcess, policy: SupervisorPolicy, now: float,
              graceful: bool, marker: str = "") -> GroupStop:
        """A graceful stop asks the server first (SIGINT); any other ends its whole group at once."""
        if graceful and proc.poll() is None:
            host.signal_pid(proc.pid, signal.SIGINT)
            return cls(host, proc, policy, StopPhase.INTERRUPT, now, marker)
        signal_members(host, proc, marker, signal.SIGTERM)
        return cls(host, proc, policy, StopPhase.TERMINATE, now, marker)

    def step(self, now: float) -> list[GroupMember] | None:
        """Look at the group and escalate if this phase is over: [] once the group is gone, None while it is still
        stopping, and the survivors once even SIGKILL's grace is spent (they will not stop)."""
        server_exited = self.proc.poll() is not None
        members = self.host.group_members(self.proc.pgid)
        if not members:
            return []
        waited = now - self.since
        if self.phase is StopPhase.INTERRUPT and (waited > self.policy.stop_grace_s or server_exited):
            signal_members(self.host, self.proc, self.marker, signal.SIGTERM)  # also the children a server left
            self.phase, self.since = StopPhase.TERMINATE, now
        elif self.phase is StopPhase.TERMINATE and waited > self.policy.term_grace_s:
            signal_members(self.host, self.proc, self.marker, signal.SIGKILL)
            self.phase, self.since = StopPhase.KILL, now
        elif self.phase is StopPhase.KILL and waited > self.policy.kill_grace_s:
            return members
        return None
