"""The GPU sampler: a background thread reading every GPU each period and publishing `gpu.telemetry`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.nvml import GpuInventory, GpuReader, NvmlUnavailable


@dataclass
class SamplerStats:
    """What the sampler has cost so far, for the benchmark and the diagnostics page."""

    samples: int = 0
    total_s: float = 0.0
    last_s: float = 0.0
    errors: int = 0

    @property
    def mean_ms(self) -> float:
        return 1000.0 * self.total_s / self.samples if self.samples else 0.0


@dataclass
class GpuSampler:
    """A background thread reading every GPU each `period_s`, publishing `gpu.telemetry` events."""

    reader: GpuReader
    bus: EventBus
    period_s: float = 2.0
    stats: SamplerStats = field(default_factory=SamplerStats)
    _latest: GpuInventory | None = None
    _reported_lost: set[int] = field(default_factory=set)
    _problem_reported: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def latest(self) -> GpuInventory | None:
        with self._lock:
            return self._latest

    def sample_once(self) -> GpuInventory:
        """Read, keep, publish. A failing driver or a lost GPU becomes an event, never an exception."""
        started = time.perf_counter()
        try:
            inventory = self.reader.inventory()
        except Exception as exc:  # a broken driver must not kill the sampler thread
            inventory = GpuInventory(
                problem=NvmlUnavailable("nvml_error", f"reading the GPUs failed ({exc})"), read_at=time.time()
            )
        elapsed = time.perf_counter() - started
        self.stats.samples += 1
        self.stats.total_s += elapsed
        self.stats.last_s = elapsed
        with self._lock:
            self._latest = inventory
        self._report_faults(inventory)
        self.bus.emit(Event("gpu.telemetry", "gpus", "sample", {"inventory": inventory}))
        return inventory

    def _report_faults(self, inventory: GpuInventory) -> None:
        for lost in inventory.lost:
            if lost.index in self._reported_lost:
                continue
            self._reported_lost.add(lost.index)
            self.stats.errors += 1
            what = f"GPU {lost.index}" + (f" ({lost.name})" if lost.name else "")
            self.bus.emit(
                Event(
                    "gpu.lost",
                    f"gpu{lost.index}",
                    f"{what} stopped answering the driver ({lost.error}); its node is stopped",
                    {"index": lost.index, "uuid": lost.uuid, "error": lost.error},
                )
            )
        if inventory.problem is not None and not self._problem_reported:
            self._problem_reported = True
            self.stats.errors += 1
            self.bus.emit(
                Event(
                    "gpu.error",
                    "gpus",
                    str(inventory.problem),
                    {"code": inventory.problem.code, "hint": inventory.problem.hint},
                )
            )
        elif inventory.problem is None:
            self._problem_reported = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="farnode-gpu-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.reader.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self.period_s)
