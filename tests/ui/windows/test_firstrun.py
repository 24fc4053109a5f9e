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
        qtbot.waitUntil(lambda: not vm.busy)
        window.refresh()
        assert window.pages.currentIndex() == 2 and window.wallet_address.text() == "No wallet yet."
        assert not window.next_button.isEnabled()
        window.secret.setPlainText("not a recovery phrase")
        window.import_button.click()
        assert window.secret.toPlainText() == ""  # handed over once, not kept in the widget
        qtbot.waitUntil(lambda: not vm.busy and window.error.text() != "")
        assert vm.address is None and window.create_button.isEnabled()
        window.secret.setPlainText(PHRASE)
        window.import_button.click()
        qtbot.waitUntil(lambda: vm.address is not None)
        assert window.wallet_address.text() == f"Wallet: {PHRASE_ADDRESS}" and window.error.text() == ""
        assert not window.create_button.isEnabled() and not window.import_button.isEnabled()
        assert window.secret.toPlainText() == ""

        window.next_button.click()
        assert window.pages.currentIndex() == 3 and window.next_button.text() == "Start serving"
        with qtbot.waitSignal(vm.finished):
            window.next_button.click()
        assert marker(core.paths).exists() and not window.isVisible()
    finally:
        core.ledger.close()
