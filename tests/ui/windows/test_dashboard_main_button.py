"""The dashboard's main button follows the nodes at every moment: after Stop it says "Start serving" at once (while
the nodes still stop) and a click starts them; the heartbeat, task runner and view-models are the app's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.ui.heartbeat import Heartbeat
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.fakes import make_core

STOP_S = 3.0  # the scripted nodes stop as a real server does: seconds in "stopping"


@pytest.fixture
def slow_stopping_core(tmp_path: Path) -> Iterator[AppCore]:
    core = make_core(tmp_path / "home", stop_s=STOP_S)
    core.start()
    yield core
    core.shutdown(timeout_s=10)
    core.ledger.close()


def states(core: AppCore) -> set[NodeState]:
    return {s.state for s in core.node_statuses()}


def test_after_stop_the_button_says_start_at_once_and_a_click_starts(qtbot: QtBot, slow_stopping_core: AppCore,
                                                                     tasks: TaskRunner) -> None:
    core = slow_stopping_core
    controls = TrayViewModel(core, tasks)
    vm = DashboardViewModel(core, tasks)
    beat = Heartbeat(core, tasks)  # the app's own: ticks the core on a worker, snapshots reach both view-models
    beat.snapshot.connect(controls.on_snapshot)
    beat.snapshot.connect(vm.on_snapshot)
    window = DashboardWindow(vm, controls)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    beat.start()
    try:
        qtbot.waitUntil(lambda: window.start_stop.text() == "Start serving" and window.start_stop.isEnabled())
        window.start_stop.click()
        qtbot.waitUntil(lambda: states(core) == {NodeState.SERVING}, timeout=10_000)
        qtbot.waitUntil(lambda: window.start_stop.text() == "Stop serving" and window.start_stop.isEnabled())

        window.start_stop.click()
        # the nodes take STOP_S to stop; the button tells the truth before they have: Start is what comes next
        qtbot.waitUntil(lambda: window.start_stop.text() == "Start serving" and window.start_stop.isEnabled(),
                        timeout=1500)
        assert states(core) == {NodeState.STOPPING}
        qtbot.waitUntil(lambda: window.state_pill.text() == "Stopping", timeout=1500)  # not "Stopped" before it is
        qtbot.waitUntil(lambda: states(core) == {NodeState.STOPPED}, timeout=10_000)
        qtbot.wait(1200)  # snapshots after the nodes stopped: nothing flips the button back
        assert window.start_stop.text() == "Start serving" and window.start_stop.isEnabled()
        assert window.state_pill.text() == "Stopped"

        window.start_stop.click()  # and a click on "Start serving" starts
        qtbot.waitUntil(lambda: NodeState.STOPPED not in states(core), timeout=3000)
        qtbot.waitUntil(lambda: window.start_stop.text() == "Stop serving", timeout=1500)
        qtbot.waitUntil(lambda: states(core) == {NodeState.SERVING}, timeout=10_000)

        window.start_stop.click()  # Stop, then Start again while the nodes still stop: they serve again after
        qtbot.waitUntil(lambda: window.start_stop.text() == "Start serving" and window.start_stop.isEnabled(),
                        timeout=1500)
        assert states(core) == {NodeState.STOPPING}
        window.start_stop.click()
        qtbot.waitUntil(lambda: window.start_stop.text() == "Stop serving", timeout=1500)
        qtbot.waitUntil(lambda: states(core) == {NodeState.SERVING}, timeout=15_000)
        assert window.start_stop.text() == "Stop serving"
    finally:
        beat.stop()
