"""Watching every process of a node's group in the process table: which must live as long as the server, and which
of them died or froze (Petals notices neither a dead p2pd nor a dead handler, and a stopped process looks alive)."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop.core.node.host import GroupMember

FROZEN_STATUSES = ("stopped", "tracing-stop")  # psutil's names for a SIGSTOPped / traced process
# The processes a Petals server is made of: the server's forked Python children (the DHT process, request handlers)
# and the networking daemons. Anything else in the group (torch_shm_manager, ...) is a helper we do not judge.
_WATCHED_NAMES = ("python", "p2pd")


@dataclass
class _Watched:
    name: str
    ppid: int
    create_time: float


def _is_python(name: str) -> bool:
    return name.startswith("python")


class GroupWatch:
    """Learns a server group's long-lived processes and reports the first one that died or stayed frozen."""

    def __init__(self, server_pid: int, frozen_after_s: float = 2.0) -> None:
        self.server_pid = server_pid
        self.frozen_after_s = frozen_after_s
        self.watched: dict[int, _Watched] = {}
        self._frozen_since: dict[int, float] = {}

    def check(self, members: list[GroupMember], now: float, loading: bool) -> str | None:
        """One look at the process table; `loading`: the server is past its start-up probes (blocks are loading).

        Python children are watched from the moment they appear (they are the DHT process and the handlers). A p2pd
        is watched when its parent is one of them, or, once blocks are loading, always: before that the server's
        main process runs a short-lived reachability daemon that is meant to exit.
        """
        by_pid = {m.pid: m for m in members}
        for m in members:
            if m.pid == self.server_pid or m.pid in self.watched or not m.name.startswith(_WATCHED_NAMES):
                continue
            if _is_python(m.name) or m.ppid != self.server_pid or loading:
                self.watched[m.pid] = _Watched(m.name, m.ppid, m.create_time)
        dead = [pid for pid, known in self.watched.items()
                if (seen := by_pid.get(pid)) is None or abs(seen.create_time - known.create_time) > 1.0]
        if dead:
            # A dead p2pd takes the processes talking through it along: name the cause, not whichever went first.
            first = min(dead, key=lambda pid: (self.watched[pid].name != "p2pd", pid))
            return f"the {self._role(first)} (pid {first}) exited"
        for m in members:
            if m.status in FROZEN_STATUSES:
                since = self._frozen_since.setdefault(m.pid, now)
                if now - since >= self.frozen_after_s:
                    role = "server process" if m.pid == self.server_pid else self._role(m.pid, m.name)
                    return f"the {role} (pid {m.pid}) is frozen (stopped for {now - since:.0f} s)"
            else:
                self._frozen_since.pop(m.pid, None)
        return None

    def _role(self, pid: int, name: str = "") -> str:
        known = self.watched.get(pid)
        name = known.name if known is not None else name
        if name == "p2pd":
            return "networking daemon (p2pd)"
        if _is_python(name):
            if any(w.name == "p2pd" and w.ppid == pid for w in self.watched.values()):
                return "DHT process"
            return "request handler process"
        return f"helper process {name}"
