"""The dashboard's outlook card: the expected FAR a day as a range, its basis in words and the GPUs' electricity with
its cost, shown whole at 1366x768 beside the cards and the chart (screenshot kept in artifacts/)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.daily_totals import DAY_S, day_of, day_start
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.viewmodels.test_dashboard_vm_outlook import clocked_core, run, serve_on

SHOTS = Path(os.environ.get("FARNODE_SHOTS", Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"))


def test_the_outlook_card_shows_the_forecast_and_the_electricity(tmp_path: Path, qtbot: QtBot) -> None:
    # three days ago, so the chart (which shows the real last hour) shows the minutes served at the end
    clock = ManualClock(wall_start=time.time() - 3 * DAY_S - 200)
    core = clocked_core(tmp_path / "home", clock)
    tasks = TaskRunner()
    try:
        core.start()
        vm, tray = DashboardViewModel(core, tasks), TrayViewModel(core, tasks)
        window = DashboardWindow(vm, tray)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        with qtbot.waitSignal(vm.outlook_changed):
            vm.on_snapshot(take_snapshot(core))
        assert window.forecast_range.text() == "Not enough history yet"
        assert window.forecast_basis.text().startswith("A forecast needs 2 full days of serving with payouts settled")
        # recorded from the midnight three full days before the day the test ends in (now, 3 days + 200 s later)
        start = day_start(day_of(clock.wall() + 3 * DAY_S + 200)) - 3 * DAY_S
        core.outlook.duty.totals.add_span(start, start + 3 * DAY_S, {"serving": 1.9 * DAY_S, "idle": 0.5 * DAY_S,
                                                                    "paused": 0.6 * DAY_S})
        core.outlook.energy.totals.add_span(start, start + 3 * DAY_S, {"wh": 6900.0})
        for day, tokens in enumerate((2_400_000, 2_900_000, 2_600_000)):
            serve_on(core, start, day, tokens)
        clock.advance(3 * DAY_S - 400)
        core.start_nodes()
        run(core, clock, 600)
        snap = take_snapshot(core)
        tray.on_snapshot(snap)
        with qtbot.waitSignal(vm.outlook_changed):
            vm.on_snapshot(snap)
        with qtbot.waitSignal(vm.chart_changed):
            vm.refresh_chart()
        window.show()
        qtbot.waitExposed(window)
        qtbot.wait(150)
        assert window.forecast_range.text() == "1.78-3.48 FAR a day"
        assert window.forecast_basis.text() == (
            "Based on 3 days: 1 FAR per million tokens served, 2.6 million tokens served a day, serving 63 % of the "
            "time (idle without requests 17 %, paused 20 %)")
        assert window.electricity.text() == ("GPUs drew 2.30 kWh a day (last 3 days), 0.00 kWh today · about 0.69 a "
                                             "day at 0.3 per kWh")
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SHOTS / "dashboard-outlook-1366x768.png"))
        for text in (window.forecast_range, window.forecast_basis, window.electricity):  # whole, not squeezed
            assert text.isVisible() and text.visibleRegion().boundingRect().height() >= text.sizeHint().height() - 1
    finally:
        tasks.close()
        core.shutdown(timeout_s=1)
