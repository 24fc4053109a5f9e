"""This PC's measured duty cycle: how much of each day its nodes served requests, stood up without requests, were
paused (games, schedule, the provider's own pause) or were stopped, recorded from the nodes' states as they tick."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.daily_totals import DailyTotals
from farnode_desktop.core.node.status import RUNNING_STATES, NodeState, NodeStatus

SERVING = "serving"  # a node up and its served-tokens counter growing
IDLE = "idle"  # a node up, but no requests came
GAMING = "gaming"  # stepped aside for a game or another program on the GPU
PAUSED = "paused"  # stepped aside otherwise: the provider's own pause, the schedule, heat, the provider at the PC
STOPPED = "stopped"  # no node running (stopped, failed, restarting)
STATES = (SERVING, IDLE, GAMING, PAUSED, STOPPED)
# games first's reasons (pausing.rules.Decision.code) that mean a game or another program wanted the GPU
GAME_CODES = frozenset({"game", "steam", "fullscreen", "program", "gpu_busy"})
MAX_GAP_S = 300.0  # a longer silence between ticks: the app or the PC was off, which is counted as nothing
ACTIVE_WITHIN_S = 60.0  # a node whose counter grew this recently is serving (the served rate's window too)


@dataclass(frozen=True)
class DutyShares:
    """Fractions of the recorded time in each state (they add up to 1 when anything was recorded)."""

    serving: float
    idle: float
    gaming: float
    paused: float
    stopped: float
    recorded_s: float

    @classmethod
    def of(cls, totals: Iterable[dict[str, float]]) -> DutyShares:
        summed = dict.fromkeys(STATES, 0.0)
        for day in totals:
            for key in STATES:
                summed[key] += day.get(key, 0.0)
        whole = sum(summed.values())
        if whole <= 0:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # nothing recorded
        return cls(summed[SERVING] / whole, summed[IDLE] / whole, summed[GAMING] / whole, summed[PAUSED] / whole,
                   summed[STOPPED] / whole, whole)


NO_DUTY = DutyShares(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class DutyCycle:
    """Classifies the PC at each tick from its nodes' statuses and adds the time since the last tick to that state.

    Kept per UTC day in `path` (written atomically at most once a minute, and on `close`).
    """

    def __init__(self, path: Path, *, save_every_s: float = 60.0) -> None:
        self.totals = DailyTotals(path, STATES, save_every_s=save_every_s)
        self._last_wall: float | None = None
        self._counters: dict[str, int] = {}
        self._served_at: float | None = None

    def classify(self, wall: float, statuses: Iterable[NodeStatus], gaming: bool = False) -> str:
        """The PC's state now; a node's counter growing since the last tick means it served; `gaming`: a pause in
        force is for a game or another program on the GPU."""
        running = paused = False
        for status in statuses:
            before = self._counters.get(status.name)
            if before is not None and status.served_tokens > before:
                self._served_at = wall
            self._counters[status.name] = status.served_tokens  # (a new supervisor's counter restarts from 0)
            running = running or status.state in RUNNING_STATES
            paused = paused or status.state is NodeState.PAUSED
        if running:
            active = self._served_at is not None and wall - self._served_at <= ACTIVE_WITHIN_S
            return SERVING if active else IDLE
        if paused:
            return GAMING if gaming else PAUSED
        return STOPPED

    def observe(self, wall: float, statuses: Iterable[NodeStatus], gaming: bool = False) -> str:
        """Count the time since the last tick in the state seen now; returns that state."""
        state = self.classify(wall, statuses, gaming)
        last = self._last_wall
        if last is not None and 0 < wall - last <= MAX_GAP_S:
            self.totals.add_span(last, wall, {state: wall - last})
        self._last_wall = wall
        self.totals.save(wall)
        return state

    def close(self, wall: float) -> None:
        self.totals.save(wall, force=True)

    def shares(self, days: Iterable[str]) -> DutyShares:
        return DutyShares.of(self.totals.day(d) for d in days)
