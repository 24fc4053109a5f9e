"""Draining a node: it takes no new inference session, serves on while its open ones finish, bounded by a deadline,
then it stops gracefully; never is a request cut off while the node still has time to finish it."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop.mesh.wire import NodeReport

DRAIN_DEADLINE_S = 300.0  # the longest a node waits for its sessions before it stops anyway
DRAINED = "drained"  # how the reason of a node a drain stopped begins
TELL_TRIES = 3  # asks for "no new session" without an answer before the drain goes on without it


@dataclass
class Drain:
    """One drain asked of a supervisor: why, until when (monotonic seconds), and whether it relaunches at once
    (a new plan) or stays stopped until started (a runtime switch waits for every node to stop first).

    The node is told first to take no new inference session (POST /drain to its status endpoint); only an answer
    read after it confirmed can say the node is quiet, so a session cannot open between that answer and the stop.
    A server that cannot be told (an older runtime) is judged by its attention cache alone, as before."""

    reason: str
    deadline: float
    relaunch: bool
    began: bool = False  # the node went from serving to draining
    quiet: bool = False  # the server last said no inference session is open
    refusing_since: float | None = None  # when the node confirmed it refuses new sessions (or could not be told)
    tell_tries: int = 0

    def due_to_tell(self) -> bool:
        return self.began and self.refusing_since is None

    def told(self, answer: bool | None, now: float) -> None:
        """The node's answer to "take no new session": True confirmed, False it cannot (no such endpoint), None no
        answer (asked again next tick, up to TELL_TRIES times, then judged as a server that cannot be told)."""
        self.tell_tries += 1
        if answer is not None or self.tell_tries >= TELL_TRIES:
            self.refusing_since = now

    def heard(self, answer: NodeReport, asked_at: float) -> None:
        """A status answer whose request began at `asked_at`. Quiet: no session counted open (`sessions_open`)
        and no attention cache held (`sessions_cache_bytes`). A server that reports neither (an older runtime) is
        never taken to be quiet: the deadline ends its drain."""
        if self.refusing_since is None or asked_at < self.refusing_since:
            return
        counted = answer.sessions_open in (None, 0)
        self.quiet = answer.sessions_cache_bytes == 0 and counted

    def done(self, now: float) -> str | None:
        """Why the drain is over (the sessions finished, or the deadline passed), or None to serve on."""
        if self.quiet:
            return "its inference sessions have finished"
        if now >= self.deadline:
            return "the drain deadline passed with sessions still open"
        return None
