"""The wallet window shows, under the address, the FAR token and payout contract this installation pins for the
devnet it is paid through: the one the real token is at, whatever a coordinator names."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.devnet import Devnet
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel
from farnode_desktop.ui.windows.wallet import WalletWindow
from tests.core.earnings.test_wallet import PHRASE


def test_the_wallet_window_shows_the_pinned_token(devnet: Devnet, devnet_core: AppCore, tasks: TaskRunner,
                                                  qtbot: QtBot, tmp_path: Path) -> None:
    assert devnet.info is not None
    wallet = devnet_core.wallet()
    assert wallet is not None
    wallet.import_mnemonic(PHRASE)
    vm = WalletViewModel(devnet_core, tasks)
    window = WalletWindow(vm)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(vm.changed, timeout=20_000):
        vm.refresh()
    assert vm.data is not None and vm.data.network is not None and vm.data.network.pinned
    text = window.network_label.text()
    assert text.startswith(f"Paid in FAR {devnet.info.token_address} on FarNode devnet on this PC"
                           f" (chain {devnet.info.chain_id})") and "the FAR token itself" in text
    assert f"FAR token {devnet.info.token_address}" in window.network_label.toolTip()
    qtbot.wait(100)
    shots = Path(os.environ.get("FARNODE_SCREENSHOTS") or tmp_path)
    assert window.grab().save(str(shots / "wallet_pinned_token.png"))
