"""The app update in the tray: a progress bar while a new FarNode downloads on the update thread, then "Restart to
update", which quits the app with the exit code that has the launcher apply it and start again."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.core.updates.app_start import RESTART_EXIT
from farnode_desktop.ui.app import FarNodeApp
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.tray import Tray
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.viewmodels.update_vm import UpdateViewModel


def progress(percent: int) -> Event:
    return Event("update.progress", "updates", f"{percent}%", {"version": "0.2.0", "percent": percent})


def test_progress_then_restart_to_update(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    update = UpdateViewModel()
    restarts: list[bool] = []
    tray = Tray(TrayViewModel(core, tasks), lambda name: None, lambda: None, update=update,
                restart=lambda: restarts.append(True))
    assert not tray.update_progress.isVisible() and not tray.restart_action.isVisible()
    update.on_event(progress(42))
    assert tray.update_progress.isVisible() and not tray.update_progress.isEnabled()
    assert tray.update_progress.text() == "Updating to 0.2.0  ■■■■□□□□□□  42%"
    notices: list[object] = []
    update.notify.connect(notices.append)
    update.on_event(progress(100))
    update.on_event(Event("update.staged", "updates", "ready", {"version": "0.2.0"}))
    assert not tray.update_progress.isVisible() and tray.restart_action.isVisible()
    assert tray.restart_action.text() == "Restart to update to FarNode 0.2.0" and notices
    tray.restart_action.trigger()
    assert restarts == [True]


def test_the_app_wires_the_bus_to_the_tray_and_restarts_with_the_launchers_code(
        core: AppCore, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    app = FarNodeApp(core, use_tray=False, shutdown=lambda: None)
    core.bus.emit(progress(10))  # from the update thread, as AppUpdates does
    qtbot.waitUntil(lambda: app.update_vm.percent == 10)
    assert callable(getattr(core.updates, "_check", None)) and core.updates._check == core.app_updates.check
    quits: list[int] = []
    monkeypatch.setattr(app, "quit", lambda: quits.append(app.exit_code))  # a real quit would end this test's Qt
    app.restart_to_update()
    assert quits == [RESTART_EXIT]  # the quit the Quit item does, ending with the launcher's restart code
