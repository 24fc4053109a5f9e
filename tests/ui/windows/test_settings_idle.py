"""The idle rule in the Settings window: its switch where this desktop's idle time can be read, and in its place a
sentence saying why it cannot work where no reader answers (a switch that would do nothing is not offered)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QScrollArea
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.pausing.signals.choose import PcSignals, Session, for_this_pc
from farnode_desktop.core.pausing.signals.reader import Reader
from farnode_desktop.core.settings import SETTINGS
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.settings import SettingsWindow
from tests.ui.fakes import make_core


class IdleFor(Reader[float | None]):
    kind = "test-idle"

    def __call__(self) -> float | None:
        return 95.0


def window_for(signals: PcSignals, home: Path, tasks: TaskRunner, qtbot: QtBot) -> Iterator[SettingsWindow]:
    core: AppCore = make_core(home, signals=signals)
    core.start()
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    window = SettingsWindow(vm)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: vm.idle_problem is not None, timeout=5000)
    yield window
    core.shutdown(timeout_s=5)
    core.ledger.close()


@pytest.fixture
def readable(tmp_path: Path, tasks: TaskRunner, qtbot: QtBot) -> Iterator[SettingsWindow]:
    yield from window_for(PcSignals(idle=IdleFor()), tmp_path / "home", tasks, qtbot)


@pytest.fixture
def unreadable(tmp_path: Path, tasks: TaskRunner, qtbot: QtBot) -> Iterator[SettingsWindow]:
    kde_wayland = for_this_pc(Session("linux", "", True, "kde"), tmp_path, bus=_no_bus)
    yield from window_for(kde_wayland, tmp_path / "home", tasks, qtbot)


def _no_bus() -> object:
    raise ConnectionRefusedError("no session bus")


def test_where_idle_time_can_be_read_the_switch_is_offered_and_writes_the_setting(readable: SettingsWindow) -> None:
    form = readable._pause_form
    assert form.isRowVisible(readable.only_when_idle) and form.isRowVisible(readable.idle_minutes)
    assert not form.isRowVisible(readable.idle_problem)
    assert readable.only_when_idle.text() == SETTINGS["pause.only_when_idle"].text
    readable.only_when_idle.setChecked(True)
    readable.idle_minutes.setValue(25)
    assert (readable.vm.draft.pause.only_when_idle, readable.vm.draft.pause.idle_minutes) == (True, 25)
    screenshot(readable, "settings_idle_readable.png")


def test_where_no_reader_answers_the_window_says_why_instead_of_offering_the_switch(
        unreadable: SettingsWindow, tmp_path: Path) -> None:
    form = unreadable._pause_form
    assert not form.isRowVisible(unreadable.only_when_idle) and not form.isRowVisible(unreadable.idle_minutes)
    assert form.isRowVisible(unreadable.idle_problem)
    assert unreadable.idle_problem.text() == (
        "Not available: FarNode cannot tell how long you have been away on a KDE Wayland session (it asked the "
        "desktop's screen saver service (org.freedesktop.ScreenSaver)), so it cannot serve only while you are away")
    screenshot(unreadable, "settings_idle_unreadable.png")


def screenshot(window: SettingsWindow, name: str) -> None:
    """For a person to look at, as a gamer would (1366x768, scrolled to the pause rules): FARNODE_SCREENSHOTS=dir."""
    shots = os.environ.get("FARNODE_SCREENSHOTS")
    if shots:
        window.resize(1366, 768)
        window.show()
        scroll = window.findChild(QScrollArea)
        assert scroll is not None
        scroll.ensureWidgetVisible(window.temperature, 0, 400)
        window.grab().save(str(Path(shots) / name))
