"""The Wallet & earnings window offscreen, bound to its view-model on a real devnet: no wallet yet, then the
wallet's address and figures, the claim terms and a refused quote, the copy button, and the claim's steps."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.format import far
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel
from farnode_desktop.ui.windows.style import ACCENT, MUTED
from farnode_desktop.ui.windows.wallet import WalletWindow
from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS
from tests.devnet.helpers import DEVNET_FEE, DEVNET_MIN_CLAIM


def test_the_window_shows_the_wallet_its_figures_and_the_claim(devnet_core: AppCore, tasks: TaskRunner,
                                                               qtbot: QtBot) -> None:
    vm = WalletViewModel(devnet_core, tasks)
    window = WalletWindow(vm)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(vm.changed, timeout=10_000):
        vm.refresh()
    assert window.address_label.text().startswith("No wallet yet: create one below (or import yours)")
    assert window.body.currentWidget().widget() is window.setup_panel  # the setup takes the window's body
    assert window.setup_panel.create_button.isEnabled()
    assert not window.copy_button.isEnabled() and not window.review_button.isEnabled()
    assert not window.confirm_button.isEnabled()
    assert [big.text() for big, _ in window.figure_labels] == ["—"] * 4
    assert window.history.topLevelItemCount() == 0

    wallet = devnet_core.wallet()
    assert wallet is not None
    wallet.import_mnemonic(PHRASE)
    with qtbot.waitSignal(vm.changed, timeout=20_000):
        window.refresh_button.click()
    assert window.address_label.text() == PHRASE_ADDRESS
    assert window.body.currentIndex() == 0  # the figures, the claim and the history
    assert window.address_label.toolTip() == f"Payout address {PHRASE_ADDRESS[:6]}…{PHRASE_ADDRESS[-4:]}"
    assert [big.text() for big, _ in window.figure_labels] == ["0 FAR"] * 4
    assert [small.text() for _, small in window.figure_labels][2] == "yours to claim now"
    assert window.claim_terms.text() == (f"Minimum claim {far(DEVNET_MIN_CLAIM)} · fee {far(DEVNET_FEE)} per claim,"
                                         " taken from the amount.")
    assert window.chart.bars.count() == 7  # the last week, every day shown
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == PHRASE_ADDRESS and window.copy_button.text() == "Copied"

    assert window.review_button.isEnabled()
    window.review_button.click()  # the coordinator is asked what a claim would pay: below the minimum
    qtbot.waitUntil(lambda: vm.quote is not None, timeout=20_000)
    assert vm.quote is not None and window.claim_message.text() == vm.quote.problem != ""
    assert window.quote_values["amount"].text() == far(vm.quote.amount)
    assert not window.confirm_button.isEnabled()  # nothing can be signed

    steps = window.step_labels
    assert all(MUTED in s.styleSheet() for s in steps)
    vm.on_event(Event("claim.submitted", "wallet", "accepted", {"state": "submitted"}))
    assert [ACCENT in s.styleSheet() for s in steps] == [True, True, True, False, False]
    assert window.claim_message.text() == "Accepted by the coordinator: accepted"
    vm.on_event(Event("claim.failed", "wallet", "the chain said no", {"state": "failed"}))
    assert all("#e5484d" in s.styleSheet() for s in steps)  # a failed claim shows every step in red
