"""The Settings window's chain fields: the provider's own chain RPC and chain id reach the saved settings."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.settings import SettingsStore
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
