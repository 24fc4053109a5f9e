"""The Settings window shows the FAR token and payout contract this installation pins (read-only, beside the
coordinator and chain fields), follows the chain id typed, and says plainly when a chain has none."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QScrollArea
from pytestqt.qtbot import QtBot

from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.earnings.network import PinnedNetwork, pin_local_devnet
from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.settings import SettingsWindow
from tests.ui.fakes import make_core

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_settings_show_the_pinned_token_and_follow_the_chain_id(tmp_path: Path, tasks: TaskRunner,
                                                                qtbot: QtBot) -> None:
    core = make_core(tmp_path / "home")
    pin_local_devnet(core.paths, PinnedNetwork(DEVNET_CHAIN_ID, "FarNode devnet on this PC", "http://127.0.0.1:8545",
                                               "http://127.0.0.1:8787", TOKEN, TOKEN, True))
    try:
        vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                                config_home=core.paths.config))
        window = SettingsWindow(vm)
        qtbot.addWidget(window)
        text = window.pinned.text()
        assert text.startswith(f"Paid in FAR {TOKEN} on FarNode devnet on this PC (chain {DEVNET_CHAIN_ID})")
        assert "a coordinator cannot change them" in text and f"Payout contract {TOKEN}" in window.pinned.toolTip()
        window.chain_id.setText("1")  # a chain this installation pins nothing for
        assert window.pinned.text().startswith("This installation pins no FAR token for chain 1")
        window.chain_id.setText("")
        assert window.pinned.text().startswith("Paid in FAR")
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        scroll = window.findChild(QScrollArea)
        assert scroll is not None
        scroll.ensureWidgetVisible(window.pinned, 0, 200)
        qtbot.wait(100)
        shots = Path(os.environ.get("FARNODE_SCREENSHOTS") or tmp_path)
        assert window.grab().save(str(shots / "settings_pinned_token.png"))
    finally:
        core.shutdown(timeout_s=5)
        core.ledger.close()
