"""The games-first controller: pauses and resumes each GPU's node with a reason, then checks VRAM is free."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.clock import Clock
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.nvml import GIB, GpuInventory
from farnode_desktop.core.node.status import NodeStatus
from farnode_desktop.core.pausing.rules import Decision, PauseInputs, PausePolicy, Snooze, Snoozes
from farnode_desktop.core.pausing.signals.choose import PcSignals
from farnode_desktop.core.pausing.signals.reader import Reader
from farnode_desktop.core.settings import Settings


class Pausable(Protocol):
    """What games-first needs from a node supervisor (farnode_desktop.core.node.supervisor.NodeSupervisor)."""

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def status(self) -> NodeStatus: ...


def process_tree(pid: int | None) -> frozenset[int]:
    """A node's server process and its children: all of them are "ours" on the GPU."""
    if pid is None:
        return frozenset()
    import psutil

    try:
        parent = psutil.Process(pid)
        return frozenset([pid, *(c.pid for c in parent.children(recursive=True))])
    except psutil.Error:
        return frozenset([pid])


@dataclass
class _VramCheck:
    deadline: float
    pids: frozenset[int]
    free_before: int
    held_bytes: int | None


class GamesFirst:
    """Each tick: decide per GPU, pause or resume its node with the reason, emit gpu.paused / gpu.resumed."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        settings: Callable[[], Settings],
        telemetry: Callable[[], GpuInventory | None],
        supervisors: Callable[[], Mapping[int, Pausable]],
        *,
        signals: PcSignals | None = None,
        own_pids: Callable[[int | None], frozenset[int]] = process_tree,
        tz: dt.tzinfo | None = None,
        verify_timeout_s: float = 30.0,
        pause_after_s: float = 5.0,
        resume_after_s: float = 60.0,
        snoozes: Snoozes | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self._settings = settings
        self._telemetry = telemetry
        self._supervisors = supervisors
        self.signals = signals if signals is not None else PcSignals()  # idle, Steam, full screen, programs
        self._own_pids = own_pids
        self._tz = tz
        self.verify_timeout_s = verify_timeout_s
        self._pause_after_s = pause_after_s
        self._resume_after_s = resume_after_s
        self.policies: dict[int, PausePolicy] = {}
        self.snoozes = snoozes if snoozes is not None else Snoozes()  # the app's one owner of the provider's pauses
        self._checks: dict[int, _VramCheck] = {}
        self._last_pids: dict[int, frozenset[int]] = {}

    def readers(self) -> dict[str, Reader[Any]]:
        """The signal readers this controller reads each tick, by slot (what AppCore wired in)."""
        return self.signals.readers()

    def snooze(self, choice: str, gpu: int | None = None) -> Snooze:
        """Snooze one GPU or all ("30 min", "1 h", "2 h", "until restart"); takes effect on the next tick."""
        return self.snoozes.set(choice, self.clock.wall(), gpu)

    def end_snooze(self, gpu: int | None = None) -> None:
        self.snoozes.end(gpu)

    def tick(self) -> dict[int, Decision]:
        settings = self._settings()
        inventory = self._telemetry()
        now = dt.datetime.fromtimestamp(self.clock.wall(), self._tz).astimezone(self._tz)
        rules = settings.pause
        signals = self.signals
        steam = signals.steam() if rules.detect_games else None
        fullscreen = signals.fullscreen() if rules.detect_games else None
        programs = signals.programs() if rules.programs else frozenset()
        idle = signals.idle() if rules.only_when_idle else None
        decisions: dict[int, Decision] = {}
        for index, supervisor in self._supervisors().items():
            gpu = inventory.gpu(index) if inventory is not None else None
            if gpu is None:
                continue  # no reading (lost or not sampled yet): leave the node as it is
            # A stopping node's processes are still ours after the supervisor lets go of them.
            pids = self._own_pids(_pid(supervisor)) or self._last_pids.get(index, frozenset())
            self._last_pids[index] = pids
            policy = self.policies.get(index)
            if policy is None:
                policy = self.policies[index] = PausePolicy(
                    index, pause_after_s=self._pause_after_s, resume_after_s=self._resume_after_s
                )
            was_paused = policy.paused is not None
            inputs = PauseInputs(gpu, pids, programs, steam, idle, fullscreen)
            decision = policy.decide(now, inputs, rules, self._snooze_for(index))
            decisions[index] = decision
            data = {"index": index, "uuid": gpu.uuid, "code": decision.code}
            if decision.paused and not was_paused:
                free_before = gpu.free_bytes
                held = sum(p.used_bytes or 0 for p in gpu.compute_processes if p.pid in pids)
                known = all(p.used_bytes is not None for p in gpu.compute_processes if p.pid in pids)
                supervisor.pause(decision.reason)
                self.bus.emit(Event("gpu.paused", f"gpu{index}", decision.reason, data))
                self._checks[index] = _VramCheck(
                    self.clock.monotonic() + self.verify_timeout_s, pids, free_before, held if known else None
                )
            elif not decision.paused and was_paused:
                self._checks.pop(index, None)
                supervisor.resume(decision.reason)
                self.bus.emit(Event("gpu.resumed", f"gpu{index}", decision.reason, data))
        self._verify(inventory)
        return decisions

    def _snooze_for(self, index: int) -> Snooze | None:
        return self.snoozes.active_for(index, self.clock.wall())

    def _verify(self, inventory: GpuInventory | None) -> None:
        """After a pause: the node's compute process must be gone and its memory free again."""
        for index, check in list(self._checks.items()):
            gpu = inventory.gpu(index) if inventory is not None else None
            if gpu is None:
                continue
            still = [p for p in gpu.compute_processes if p.pid in check.pids]
            regained = gpu.free_bytes - check.free_before
            memory_back = check.held_bytes is None or regained >= 0.9 * check.held_bytes
            if not still and memory_back:
                del self._checks[index]
                self.bus.emit(
                    Event("gpu.vram_freed", f"gpu{index}",
                          f"GPU {index}: {gpu.free_bytes / GIB:.1f} GiB free again after pausing",
                          {"index": index, "free_bytes": gpu.free_bytes})
                )  # fmt: skip
            elif self.clock.monotonic() >= check.deadline:
                del self._checks[index]
                holding = sum(p.used_bytes or 0 for p in still)
                what = (
                    f"FarNode's node process {', '.join(str(p.pid) for p in still)} still holds "
                    f"{holding / GIB:.1f} GiB"
                    if still
                    else f"only {max(0, regained) / GIB:.1f} GiB of the node's "
                    f"{(check.held_bytes or 0) / GIB:.1f} GiB came back"
                )
                self.bus.emit(
                    Event("gpu.vram_not_freed", f"gpu{index}",
                          f"GPU {index}: {what} {self.verify_timeout_s:.0f} s after pausing",
                          {"index": index, "pids": sorted(p.pid for p in still), "free_bytes": gpu.free_bytes,
                           "hint": "stop the node from the tray; if memory stays taken, restart FarNode"})
                )  # fmt: skip


def _pid(supervisor: Pausable) -> int | None:
    try:
        return supervisor.status().pid
    except Exception:  # a supervisor that cannot report must not stop games-first for the others
        return None
