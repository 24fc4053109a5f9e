"""Settings and the wallet window show the network's share of a payout from the manifest, and warn plainly when the
chain asks for a newer FarNode than the one running (an older installed version is simulated by its version): a line
of its own in the theme's warning colour, not muted like the line above it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QScrollArea
from pytestqt.qtbot import QtBot

import farnode_desktop
from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.devnet import Devnet
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel
from farnode_desktop.ui.windows.settings import SettingsWindow
from farnode_desktop.ui.windows.style import MUTED
from farnode_desktop.ui.windows.style import WARNING as WARNING_COLOUR
from farnode_desktop.ui.windows.wallet import WalletWindow
from tests.core.earnings.test_wallet import PHRASE
from tests.ui.screen_checks import contrast

WARNING = ("Warning: this FarNode is version 0.0.9, older than version 0.1.0 that FarNode devnet on this PC "
           "(chain {chain}) asks for: update FarNode to keep claiming.")


def _shoot(window: object, qtbot: QtBot, name: str, tmp_path: Path) -> None:
    qtbot.wait(100)
    shots = Path(os.environ.get("FARNODE_SCREENSHOTS") or tmp_path)
    assert window.grab().save(str(shots / name))  # type: ignore[attr-defined]


def drawn_in(widget: QLabel, colour: str) -> int:
    """How many of the label's pixels are drawn in `colour` (its text, antialiased edges aside)."""
    image = widget.grab().toImage()
    want = QColor(colour)
    return sum(1 for x in range(image.width()) for y in range(image.height())
               if contrast(image.pixelColor(x, y), want) < 30)


def test_the_fee_and_the_update_warning_in_settings_and_the_wallet(
        devnet: Devnet, devnet_core: AppCore, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert devnet.info is not None
    fee = "The network keeps 1 % of each payout."  # the shipped manifest's devnet: 100 basis points
    warning = WARNING.format(chain=devnet.info.chain_id)
    settings = SettingsWindow(SettingsViewModel(devnet_core, tasks, autostart=Autostart(
        platform="linux", command=["x"], config_home=devnet_core.paths.config)))
    qtbot.addWidget(settings)
    assert fee in settings.pinned.text() and "Warning" not in settings.pinned.text()  # 0.1.0 may claim here
    assert settings.pinned_warning.text() == "" and not settings.pinned_warning.isVisibleTo(settings)
    monkeypatch.setattr(farnode_desktop, "__version__", "0.0.9")  # a FarNode older than the chain asks for
    settings._show_pinned()
    assert fee in settings.pinned.text() and "Warning" not in settings.pinned.text()
    assert settings.pinned_warning.text() == warning and settings.pinned_warning.isVisibleTo(settings)
    settings.resize(1366, 768)
    settings.show()
    qtbot.waitExposed(settings)
    scroll = settings.findChild(QScrollArea)
    assert scroll is not None
    scroll.ensureWidgetVisible(settings.pinned, 0, 200)
    _shoot(settings, qtbot, "settings_network_terms.png", tmp_path)
    assert drawn_in(settings.pinned_warning, WARNING_COLOUR) > 50 and drawn_in(settings.pinned_warning, MUTED) == 0
    assert drawn_in(settings.pinned, MUTED) > 50 and drawn_in(settings.pinned, WARNING_COLOUR) == 0

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
    text = window.network_label.text()
    assert fee in text and "Warning" not in text
    assert window.network_warning.text() == warning and window.network_warning.isVisibleTo(window)
    _shoot(window, qtbot, "wallet_network_terms.png", tmp_path)
    assert drawn_in(window.network_warning, WARNING_COLOUR) > 50 and drawn_in(window.network_label, WARNING_COLOUR) == 0
