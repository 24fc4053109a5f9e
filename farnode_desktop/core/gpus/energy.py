"""The electricity the GPUs drew: NVML power readings over time integrated to kWh per day, and what that costs at
the provider's own price per kWh."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.daily_totals import DailyTotals, day_of, full_days
from farnode_desktop.core.gpus.nvml import GpuInventory

WH = "wh"
MAX_GAP_S = 30.0  # readings further apart are not joined: the app was not sampling (the sampler reads every 2 s)


class EnergyMeter:
    """Adds the energy between consecutive power readings of each GPU (trapezoids) to the day it was drawn in."""

    def __init__(self, path: Path, *, save_every_s: float = 60.0) -> None:
        self.totals = DailyTotals(path, (WH,), save_every_s=save_every_s)
        self._last: dict[str, tuple[float, float]] = {}  # GPU uuid -> (read_at, watts)

    def observe(self, inventory: GpuInventory | None, wall: float) -> None:
        """Take a sample's power readings (a sample already seen adds nothing)."""
        for gpu in inventory.gpus if inventory is not None else ():
            if gpu.power_w is None or gpu.read_at <= 0:
                continue
            prev = self._last.get(gpu.uuid)
            if prev is not None and gpu.read_at <= prev[0]:
                continue
            if prev is not None and gpu.read_at - prev[0] <= MAX_GAP_S:
                seconds = gpu.read_at - prev[0]
                self.totals.add_span(prev[0], gpu.read_at, {WH: (prev[1] + gpu.power_w) / 2 * seconds / 3600})
            self._last[gpu.uuid] = (gpu.read_at, gpu.power_w)
        self.totals.save(wall)

    def close(self, wall: float) -> None:
        self.totals.save(wall, force=True)

    @property
    def measured(self) -> bool:
        """Whether any GPU has reported its power draw (now, or in the kept record)."""
        return bool(self._last) or self.totals.first_seen is not None

    def kwh(self, day: str) -> float:
        return self.totals.day(day)[WH] / 1000


@dataclass(frozen=True)
class Electricity:
    """The GPUs' electricity: today so far and a day on average over the full days read, and their cost."""

    today_kwh: float
    kwh_per_day: float | None  # None: no full day recorded yet
    days: int
    price_per_kwh: float | None  # the provider's price (Settings), None when not entered
    measured: bool = True  # False: no GPU has reported its power draw (no NVIDIA GPU, or NVML cannot read it)

    @property
    def cost_per_day(self) -> float | None:
        if self.price_per_kwh is None or self.kwh_per_day is None:
            return None
        return self.kwh_per_day * self.price_per_kwh

    @property
    def text(self) -> str:
        """"GPUs drew 2.14 kWh a day (last 6 days) · about 0.64 a day at 0.30 per kWh"."""
        if not self.measured:
            return "No GPU has reported its power draw: the electricity shows once the driver reads it"
        if self.kwh_per_day is None:
            words = f"GPUs drew {self.today_kwh:.2f} kWh so far today"
        else:
            days = f"last {self.days} day{'s' if self.days != 1 else ''}"
            words = f"GPUs drew {self.kwh_per_day:.2f} kWh a day ({days}), {self.today_kwh:.2f} kWh today"
        cost = self.cost_per_day
        if cost is not None and self.price_per_kwh is not None:
            words += f" · about {cost:.2f} a day at {self.price_per_kwh:g} per kWh"
        elif self.price_per_kwh is None:
            words += " · enter your price per kWh in Settings to see its cost"
        return words


def electricity(meter: EnergyMeter, now: float, price_per_kwh: float | None, window_days: int = 7) -> Electricity:
    """What the GPUs drew a day over the trailing full days the meter watched, and today, at `price_per_kwh`."""
    watched = full_days(meter.totals.first_seen, now, window_days)
    per_day = statistics.fmean(meter.kwh(d) for d in watched) if watched else None
    return Electricity(meter.kwh(day_of(now)), per_day, len(watched), price_per_kwh,
                       measured=meter.measured)
