"""The electricity price in the Settings window: a row built from its declaration, the price typed reaches the saved
settings (and so the dashboard's cost), an empty field means not entered, and letters are refused."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.settings import SETTINGS, SettingsStore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.settings import SettingsWindow
from tests.ui.windows.test_settings import row_label


def test_the_price_per_kwh_is_entered_in_the_window_and_priced_by_the_core(core: AppCore, tasks: TaskRunner,
                                                                           qtbot: QtBot) -> None:
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    window = SettingsWindow(vm)
    qtbot.addWidget(window)
    assert row_label(window, window.electricity_price) == SETTINGS["electricity_price_per_kwh"].label
    assert window.electricity_price.text() == "" and vm.draft.electricity_price_per_kwh is None
    qtbot.keyClicks(window.electricity_price, "0.3x1")  # typed: the letter is refused by the field
    assert window.electricity_price.text() == "0.31" and vm.draft.electricity_price_per_kwh == 0.31
    with qtbot.waitSignal(vm.applied, timeout=10_000):
        window.apply_button.click()
    assert SettingsStore(core.paths.config_file).load().electricity_price_per_kwh == 0.31
    assert core.outlook_now().electricity.price_per_kwh == 0.31  # read from the settings the core holds now
    window.electricity_price.setText(".")
    assert vm.draft.electricity_price_per_kwh is None
