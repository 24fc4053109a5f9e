"""What this PC can expect: the duty cycle and the GPUs' energy recorded as the app ticks, and the forecast, the
electricity and a pause's cost in FAR built from them for the dashboard, the tray and `farnode earnings`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from farnode_desktop.core.clock import Clock
from farnode_desktop.core.earnings.duty_cycle import DutyCycle
from farnode_desktop.core.earnings.forecast import Forecast, far_amount, make_forecast
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.gpus.energy import Electricity, EnergyMeter, electricity
from farnode_desktop.core.gpus.nvml import GpuInventory
from farnode_desktop.core.node.status import NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.rules import duration_text, pause_cost

log = logging.getLogger("farnode.outlook")
REFRESH_S = 300.0  # the forecast reads a week of the ledger: at most every 5 minutes (payouts settle slower)


@dataclass(frozen=True)
class EarningsOutlook:
    """The forecast (read from the ledger at `at`, wall time) and the electricity."""

    forecast: Forecast
    electricity: Electricity
    at: float


def duty_cycle_file(paths: AppPaths) -> DutyCycle:
    return DutyCycle(paths.data / "duty-cycle.json")


def energy_file(paths: AppPaths) -> EnergyMeter:
    return EnergyMeter(paths.data / "gpu-energy.json")


class Outlook:
    """Records the duty cycle and energy at each tick; builds the outlook, kept for `REFRESH_S`."""

    def __init__(self, paths: AppPaths, ledger: Ledger, clock: Clock, price: Callable[[], float | None]) -> None:
        self.duty = duty_cycle_file(paths)
        self.energy = energy_file(paths)
        for problem in (self.duty.totals.problem, self.energy.totals.problem):
            if problem:  # a damaged record was set aside: the forecast waits for new history, say why
                log.warning("%s", problem)
        self._ledger = ledger
        self._clock = clock
        self._price = price
        self._lock = threading.Lock()
        self._kept: EarningsOutlook | None = None

    def observe(self, statuses: Iterable[NodeStatus], inventory: GpuInventory | None, gaming: bool = False) -> None:
        """One tick: the PC's state since the last tick (`gaming`: a pause is for a game or another program on the
        GPU), and the GPUs' power readings."""
        wall = self._clock.wall()
        with self._lock:
            self.duty.observe(wall, statuses, gaming)
            self.energy.observe(inventory, wall)

    def current(self, *, fresh: bool = False) -> EarningsOutlook:
        """The outlook (blocking: reads the ledger when the forecast is older than `REFRESH_S`; the electricity,
        counted in memory, is always today's)."""
        wall = self._clock.wall()
        kept = self._kept
        with self._lock:
            power = electricity(self.energy, wall, self._price())
            if kept is not None and not fresh and wall - kept.at < REFRESH_S:
                if power == kept.electricity:
                    return kept
                self._kept = EarningsOutlook(kept.forecast, power, kept.at)
                return self._kept
            forecast = make_forecast(self._ledger, self.duty, wall)
        self._kept = EarningsOutlook(forecast, power, wall)
        return self._kept

    @property
    def kept(self) -> EarningsOutlook | None:
        """The last outlook built, without reading anything (for the GUI thread)."""
        return self._kept

    def close(self) -> None:
        wall = self._clock.wall()
        with self._lock:
            self.duty.close(wall)
            self.energy.close(wall)


def pause_cost_text(forecast: Forecast | None, tokens_per_s: float, seconds: float | None) -> str:
    """What a pause costs: in FAR at the settled rate, or in served tokens while no payout has settled yet."""
    cost = pause_cost(tokens_per_s, seconds)
    if cost.tokens <= 0:
        return "nothing is being served right now, so pausing costs nothing"
    length = f"a {duration_text(seconds)} pause" if seconds is not None else "each hour paused"
    if forecast is None or forecast.wei_per_token <= 0:
        return f"{length} = about {cost.tokens:,} served tokens (no payout has settled yet to price them in FAR)"
    return f"{length} = about {far_amount(forecast.cost_of(cost.tokens), forecast.decimals)} FAR"
