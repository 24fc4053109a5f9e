"""One route for the served rate, and the outlook on the dashboard: the headline's tokens/s is the throughput chart's
latest minute (same ledger periods, same arithmetic), the cards' rates add up to it, and the forecast, its basis and
the GPUs' electricity reach the view-model and the tray's pause menu speaks FAR."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.daily_totals import DAY_S
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.gpus.energy import Electricity
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel, outlook_lines
from farnode_desktop.ui.viewmodels.format import count
from farnode_desktop.ui.viewmodels.tray_vm import PAUSE_CHOICES, TrayViewModel
from tests.core.earnings.test_forecast import settle
from tests.ui.fakes import BIG_MODEL, FIXTURES, ScriptedSupervisor


def clocked_core(home: Path, clock: ManualClock) -> AppCore:
    """A real AppCore whose clock the test moves, with scripted nodes serving 850 and 310 tokens/s on that clock."""
    paths = AppPaths.under(home).ensure()
    SettingsStore(paths.config_file).save(Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=False,
                                                   electricity_price_per_kwh=0.3))
    bus = EventBus()
    rates = iter((850.0, 310.0))

    def factory(spec: NodeSpec) -> ScriptedSupervisor:
        return ScriptedSupervisor(spec, bus, clock, rate=next(rates), start_block=0)

    return AppCore(paths, bus=bus, nvml=FakeNvml.from_file(FIXTURES / "linux_rtx4090_rtx3060.json"), clock=clock,
                   supervisor_factory=factory, sample_gpus=False)


def run(core: AppCore, clock: ManualClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        core.tick()


def test_the_headline_rate_is_the_charts_latest_minute(tmp_path: Path, qtbot: QtBot) -> None:
    clock = ManualClock(wall_start=1_765_000_000.0)
    core = clocked_core(tmp_path / "home", clock)
    tasks = TaskRunner()
    try:
        core.start()
        core.start_nodes()
        run(core, clock, 200)  # loading, then a few minutes of serving (written to the ledger each minute)
        assert all(s.state is NodeState.SERVING for s in core.node_statuses())
        vm = DashboardViewModel(core, tasks)
        snap = take_snapshot(core)
        with qtbot.waitSignal(vm.chart_changed):
            vm.on_snapshot(snap)  # the first snapshot reads the chart too
        latest = vm.series[-1]
        assert latest.at + 60 == clock.wall()  # the chart's minutes end now
        assert snap.tokens_per_s == pytest.approx(latest.tokens_per_s)
        assert latest.tokens_per_s == pytest.approx(1160, rel=1e-3)  # 850 + 310, steady for over a minute
        assert vm.headline == f"Serving on 2 nodes · {count(latest.tokens_per_s)} tokens/s"
        served = [dict(c.facts)["Served"] for c in vm.cards]
        assert served == [f"{count(snap.served_rates['gpu0'])} tokens/s", f"{count(snap.served_rates['gpu1'])} tokens/s"]
        # a paused node serves nothing now, whatever its last minute held; the chart keeps that minute
        core.snooze("30m", gpu=1)
        run(core, clock, 1)
        paused = take_snapshot(core)
        assert paused.tokens_per_s == pytest.approx(paused.served_rates["gpu0"])
    finally:
        tasks.close()
        core.shutdown(timeout_s=1)


def test_the_outlook_reaches_the_dashboard_and_the_tray_prices_pauses_in_far(tmp_path: Path, qtbot: QtBot) -> None:
    clock = ManualClock(wall_start=1_765_065_600.0)  # a UTC midnight
    core = clocked_core(tmp_path / "home", clock)
    tasks = TaskRunner()
    try:
        core.start()
        core.tick()  # the GPUs' first power readings
        vm, tray = DashboardViewModel(core, tasks), TrayViewModel(core, tasks)
        with qtbot.waitSignal(vm.outlook_changed):
            vm.on_snapshot(take_snapshot(core))
        expected, basis, power = outlook_lines(vm.outlook)
        assert expected == "Not enough history yet" and basis.startswith("A forecast needs 2 full days")
        assert power.startswith("GPUs drew 0.00 kWh so far today")
        # two days served and paid: 2.4 and 3.6 million tokens at 1 FAR per million, recorded from midnight
        start = clock.wall()
        core.outlook.duty.totals.add_span(start, start + 2 * DAY_S, {"serving": 1.2 * DAY_S, "paused": 0.8 * DAY_S})
        core.outlook.energy.totals.add_span(start, start + 2 * DAY_S, {"wh": 4200.0})
        for day, tokens in enumerate((2_400_000, 3_600_000)):
            serve_on(core, start, day, tokens)
        clock.advance(2 * DAY_S + 600)
        core.start_nodes()
        run(core, clock, 70)
        snap = take_snapshot(core)
        assert snap.outlook is not None and snap.outlook.forecast.ready
        vm.on_snapshot(snap)
        tray.on_snapshot(snap)
        expected, basis, power = outlook_lines(vm.outlook)
        assert expected.endswith(" FAR a day") and basis.startswith("Based on 2 days: 1 FAR per million tokens served")
        assert "serving 60 % of the time (paused 40 %)" in basis
        assert power == "GPUs drew 2.10 kWh a day (last 2 days), 0.00 kWh today · about 0.63 a day at 0.3 per kWh"
        assert snap.outlook.electricity == Electricity(0.0, pytest.approx(2.1), 2, 0.3)  # type: ignore[arg-type]
        one_hour = next(c for c in PAUSE_CHOICES if c.key == "1h")
        far = 1160 * 3600 / 1e6  # 1 FAR per million served tokens
        assert tray.pause_label(one_hour) == f"{one_hour.label}  (≈ {far:.2f} FAR)"
        gpu1 = next(c for c in vm.cards if c.key == "gpu1")
        assert gpu1.pause is not None and dict(gpu1.pause.choices)["1h"].endswith(" FAR)")
    finally:
        tasks.close()
        core.shutdown(timeout_s=1)


def serve_on(core: AppCore, start: float, day: int, tokens: int) -> None:
    """`tokens` served on the day and paid on chain (confirmed) the same day, at 1 FAR per million tokens."""
    for hour in range(24):
        at = start + day * DAY_S + hour * 3600
        core.ledger.record_served_work("gpu0", "peer", period_start=at, period_end=at + 3600, tokens=tokens // 24,
                                       blocks=4)
    settle(core.ledger, start + day * DAY_S + 7200, tokens, 10**12)

