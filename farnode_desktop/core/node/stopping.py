"""Stopping a server group for sure: the stop phases (interrupt, terminate, kill) as an Enum, each with its grace."""

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


def terminate_group(host: ProcessHost, pgid: int) -> None:
    host.signal_group(pgid, signal.SIGCONT)  # a frozen (SIGSTOPped) member acts on SIGTERM only once resumed
    host.signal_group(pgid, signal.SIGTERM)


@dataclass
class GroupStop:
    """One stop in progress: its phase and since when; `step` escalates once the phase's grace has run out."""

    host: ProcessHost
    proc: RunningProcess
    policy: SupervisorPolicy
    phase: StopPhase
    since: float

    @classmethod
    def begin(cls, host: ProcessHost, proc: RunningProcess, policy: SupervisorPolicy, now: float,
              graceful: bool) -> GroupStop:
        """A graceful stop asks the server first (SIGINT); any other ends its whole group at once."""
        if graceful and proc.poll() is None:
            host.signal_pid(proc.pid, signal.SIGINT)
            return cls(host, proc, policy, StopPhase.INTERRUPT, now)
        terminate_group(host, proc.pgid)
        return cls(host, proc, policy, StopPhase.TERMINATE, now)

    def step(self, now: float) -> list[GroupMember] | None:
        """Look at the group and escalate if this phase is over: [] once the group is gone, None while it is still
        stopping, and the survivors once even SIGKILL's grace is spent (they will not stop)."""
        server_exited = self.proc.poll() is not None
        members = self.host.group_members(self.proc.pgid)
        if not members:
            return []
        waited = now - self.since
        if self.phase is StopPhase.INTERRUPT and (waited > self.policy.stop_grace_s or server_exited):
            terminate_group(self.host, self.proc.pgid)  # also ends the children a gracefully exited server left
            self.phase, self.since = StopPhase.TERMINATE, now
        elif self.phase is StopPhase.TERMINATE and waited > self.policy.term_grace_s:
            self.host.signal_group(self.proc.pgid, signal.SIGKILL)
            self.phase, self.since = StopPhase.KILL, now
        elif self.phase is StopPhase.KILL and waited > self.policy.kill_grace_s:
            return members
        return None
