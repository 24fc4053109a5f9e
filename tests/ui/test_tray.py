"""The tray's menu offscreen (no tray host needed: the icon is never shown here; tests/ui_tray/ shows the real one):
it mirrors the view-model's labels, opens the windows, quits, and a click on the icon opens the dashboard."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.tray import Tray
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.tray_vm import TrayState, TrayViewModel
from tests.ui.conftest import tick_until

MENU = ["FarNode", "Start serving", "Pause serving", "Resume serving", "Dashboard", "Wallet && earnings", "Settings",
        "Logs", "Downloading an update", "Restart to update", "Quit FarNode"]  # the last two: while there is one


def _menu(tray: Tray) -> list[str]:
    return [a.text() for a in tray.menu.actions() if not a.isSeparator()]


def test_the_menu_mirrors_the_view_model(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = TrayViewModel(core, tasks)
    tray = Tray(vm, lambda name: None, lambda: None)
    assert _menu(tray)[1:] == MENU[1:] and _menu(tray)[0] == "FarNode: stopped"
    assert tray.icon.toolTip() == "FarNode: stopped" and not tray.icon.isVisible()
    assert not tray.pause_menu.isEnabled() and not tray.resume_action.isVisible()  # no node to pause yet

    tray.start_stop.trigger()  # Start serving: through the view-model, on a worker
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    qtbot.waitUntil(lambda: not vm.busy)
    vm.on_snapshot(take_snapshot(core))  # the tray follows the view-model's `changed`
    assert vm.state is TrayState.SERVING
    assert tray.start_stop.text() == "Stop serving" and tray.start_stop.isEnabled()
    assert tray.header.text() == "FarNode: serving" and tray.icon.toolTip() == vm.tooltip
    assert tray.pause_menu.isEnabled()
    assert tray.pause_menu.actions()[0].text().startswith("Pause for 30 min  (≈ 2.1 M served tokens)")

    vm.busy = True  # an action under way: nothing else can be started
    tray.refresh()
    assert not tray.start_stop.isEnabled() and not tray.pause_menu.isEnabled()
    vm.busy = False
    vm.snoozed = True
    tray.refresh()
    assert tray.resume_action.isVisible()
    core.stop_nodes()


def test_the_menu_opens_each_window_and_quits(core: AppCore, tasks: TaskRunner) -> None:
    opened: list[str] = []
    quits: list[bool] = []
    tray = Tray(TrayViewModel(core, tasks), opened.append, lambda: quits.append(True))
    for name in ("dashboard", "wallet", "settings", "logs"):
        tray.window_actions[name].trigger()
    assert opened == ["dashboard", "wallet", "settings", "logs"]
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.DoubleClick)
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Context)  # the right click only shows the menu
    assert opened[4:] == ["dashboard", "dashboard"]
    assert quits == []
    tray.quit_action.trigger()
    assert quits == [True]

