"""The Settings window's fields: the provider's own chain RPC and chain id reach the saved settings, and the simple
fields are built from the settings' declarations."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QWidget
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.settings import SETTINGS, SettingsStore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.settings import SettingsWindow


def test_the_chain_rpc_and_chain_id_are_set_in_the_window(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    window = SettingsWindow(vm)
    qtbot.addWidget(window)
    window.chain_rpc.setText(" https://rpc.example.org ")
    window.chain_id.setText("8453")
    window.chain_id.insert("x²")  # refused by the field: digits only
    assert (vm.draft.chain_rpc_url, vm.draft.chain_id) == ("https://rpc.example.org", 8453)
    with qtbot.waitSignal(vm.applied, timeout=10_000):
        window.apply_button.click()
    saved = SettingsStore(core.paths.config_file).load()
    assert (saved.chain_rpc_url, saved.chain_id) == ("https://rpc.example.org", 8453)
    window.chain_id.setText("")
    assert vm.draft.chain_id is None


def row_label(window: QWidget, field: QWidget) -> str:
    """The text of the label in front of `field` in the window's forms."""
    for form in window.findChildren(QFormLayout):
        found = form.labelForField(field)
        if isinstance(found, QLabel):
            return found.text()
    raise AssertionError(f"{field!r} has no row label")


def test_the_windows_simple_fields_are_built_from_the_declarations(core: AppCore, tasks: TaskRunner,
                                                                  qtbot: QtBot) -> None:
    """Labels, ranges, units and choices come from core/settings.py, and each widget writes its own setting."""
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    window = SettingsWindow(vm)
    qtbot.addWidget(window)
    fields = {"pause.detect_games": window.detect_games, "pause.programs": window.programs,
              "pause.schedule": window.schedule, "pause.temperature_limit_c": window.temperature,
              "coordinator_url": window.coordinator, "chain_rpc_url": window.chain_rpc, "chain_id": window.chain_id,
              "start_at_login": window.start_at_login, "log_level": window.log_level, "model": window.model}
    for key, widget in fields.items():
        assert row_label(window, widget) == SETTINGS[key].label
    temperature = SETTINGS["pause.temperature_limit_c"]
    assert (window.temperature.minimum(), window.temperature.maximum()) == (temperature.low, temperature.high)
    assert window.temperature.suffix() == " °C"
    blocks = SETTINGS["blocks"]
    assert (window.blocks_count.minimum(), window.blocks_count.maximum()) == (blocks.low, blocks.high)
    assert [window.log_level.itemText(i) for i in range(window.log_level.count())] == list(
        SETTINGS["log_level"].choices)
    assert window.detect_games.text() == SETTINGS["pause.detect_games"].text

    window.temperature.setValue(71)
    window.detect_games.setChecked(False)
    window.log_level.setCurrentText("DEBUG")
    window.coordinator.setText(" http://127.0.0.1:9999 ")
    window.programs.setPlainText("blender.exe")
    draft = vm.build()
    assert (draft.pause.temperature_limit_c, draft.pause.detect_games, draft.log_level, draft.coordinator_url,
            draft.pause.programs) == (71, False, "DEBUG", "http://127.0.0.1:9999", ["blender.exe"])


def test_network_addresses_and_log_detail_sit_in_an_advanced_card(core: AppCore, tasks: TaskRunner,
                                                                  qtbot: QtBot) -> None:
    window = SettingsWindow(SettingsViewModel(core, tasks))
    qtbot.addWidget(window)

    def card_of(widget: QWidget) -> str:
        parent = widget.parentWidget()
        while parent is not None and parent.objectName() != "card":
            parent = parent.parentWidget()
        assert isinstance(parent, QFrame)
        return next(w.text() for w in parent.findChildren(QLabel) if w.objectName() == "h2")

    for field in (window.coordinator, window.chain_rpc, window.chain_id, window.log_level):
        assert card_of(field) == "Advanced"
    assert card_of(window.start_at_login) == "App" and window.coordinator.toolTip()
