"""The first-run window offscreen on a real AppCore (recorded GPUs, an in-memory keyring): the check's verdict per
GPU, the runtime step that holds Next until the runtime is there, the wallet import through the widgets (a bad
secret is a plain error, the secret is not kept in the widget), and the last step closing the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from farnode_desktop.devnet.demo import MemoryKeyring
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.firstrun_vm import FirstRunViewModel, marker
from farnode_desktop.ui.windows.firstrun import FirstRunWindow
from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS
from tests.ui.fakes import make_core


def test_the_first_run_window_walks_the_steps(tmp_path: Path, tasks: TaskRunner, qtbot: QtBot,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(tmp_path / "no-runtime"))
    core = make_core(tmp_path / "home", keystore=MemoryKeyring())
    vm = FirstRunViewModel(core, tasks)
    window = FirstRunWindow(vm)
    qtbot.addWidget(window)
    try:
        assert not window.next_button.isEnabled() and not window.back_button.isEnabled()
        window.show()  # showing the window starts the check
        qtbot.waitUntil(lambda: vm.check_result is not None and not vm.busy, timeout=10_000)
        rows = [w.text() for w in window.pages.widget(0).findChildren(QLabel) if w.text().startswith("<b>")]
        assert len(rows) == 3 and all(r.startswith("<b>✔") for r in rows)
        assert rows[0].startswith("<b>✔ NVIDIA driver</b>")
        assert rows[1].startswith("<b>✔ GPU 0 · NVIDIA GeForce RTX 4090 (24.0 GiB)</b>") and "can serve 41 blocks" in rows[1]
        assert window.next_button.isEnabled() and window.next_button.text() == "Next"

        window.next_button.click()  # the runtime step: not installed here, so Next waits for the install
        qtbot.waitUntil(lambda: not vm.busy)
        assert window.pages.currentIndex() == 1 and not window.next_button.isEnabled()
        assert window.install_button.isEnabled() and window.back_button.isEnabled()
        window.back_button.click()
        assert window.pages.currentIndex() == 0

        vm.step = 2  # past the runtime install (tests/integration/ installs the real one)
        vm.enter()
        qtbot.waitUntil(lambda: not vm.busy and not vm.wallet_setup.busy)
        window.refresh()
        panel = window.wallet_panel
        assert window.pages.currentIndex() == 2 and panel.pages.currentIndex() == 0  # create or import
        assert not window.next_button.isEnabled()
        panel.create_button.click()  # the words are shown; Next waits until the wallet exists
        assert panel.pages.currentIndex() == 1 and not window.next_button.isEnabled()
        window.back_button.click()  # going back drops the words: nothing was stored
        assert vm.wallet_setup.words() == () and core.wallet_address() is None
        assert window.pages.currentIndex() == 1
        vm.step = 2
        vm.enter()
        qtbot.waitUntil(lambda: not vm.wallet_setup.busy)
        assert window.pages.currentIndex() == 2 and panel.pages.currentIndex() == 0
        panel.secret.setPlainText("not a recovery phrase")
        panel.import_button.click()
        assert panel.secret.toPlainText() == ""  # handed over once, not kept in the widget
        qtbot.waitUntil(lambda: not vm.wallet_setup.busy and panel.error.text() != "")
        assert vm.address is None and panel.create_button.isEnabled()
        panel.secret.setPlainText(PHRASE)
        panel.import_button.click()
        qtbot.waitUntil(lambda: vm.address is not None)
        assert panel.address_label.text() == f"Wallet: {PHRASE_ADDRESS}" and panel.error.text() == ""
        assert panel.pages.currentIndex() == 3 and "recovery phrase you just imported" in panel.backup_label.text()
        assert panel.secret.toPlainText() == "" and window.next_button.isEnabled()

        window.next_button.click()
        assert window.pages.currentIndex() == 3 and window.next_button.text() == "Start serving"
        with qtbot.waitSignal(vm.finished):
            window.next_button.click()
        assert marker(core.paths).exists() and not window.isVisible()
    finally:
        core.ledger.close()
