"""Draining a node: it serves on while its open inference sessions finish, bounded by a deadline, then it stops
gracefully; never is a request cut off while the node still has time to finish it."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop.mesh.wire import NodeReport

DRAIN_DEADLINE_S = 300.0  # the longest a node waits for its sessions before it stops anyway
DRAINED = "drained"  # how the reason of a node a drain stopped begins


@dataclass
class Drain:
    """One drain asked of a supervisor: why, until when (monotonic seconds), and whether it relaunches at once
    (a new plan) or stays stopped until started (a runtime switch waits for every node to stop first)."""

    reason: str
    deadline: float
    relaunch: bool
    began: bool = False  # the node went from serving to draining
    quiet: bool = False  # the server last said no inference session is open

    def heard(self, answer: NodeReport) -> None:
        """A status answer: `sessions_cache_bytes` is the attention cache open sessions hold (0: none open). A
        server that does not report it (an older runtime) is never taken to be quiet: the deadline ends its drain."""
        self.quiet = answer.sessions_cache_bytes == 0

    def done(self, now: float) -> str | None:
        """Why the drain is over (the sessions finished, or the deadline passed), or None to serve on."""
        if self.quiet:
            return "its inference sessions have finished"
        if now >= self.deadline:
            return "the drain deadline passed with sessions still open"
        return None
