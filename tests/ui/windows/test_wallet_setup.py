"""The wallet setup through its widgets, with the real Secret Service keyring and the app's own log: the words shown
once (not selectable, no copy button), three typed back, the wallet created; the phrase is in no file, no log and
not on the clipboard afterwards."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from pathlib import Path

import pytest
from eth_account import Account
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from farnode_desktop.core.earnings.wallet import ADDRESS_ENTRY, KEY_ENTRY
from farnode_desktop.ui.app import setup_logging
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.wallet_setup_vm import SetupStage, WalletSetupViewModel
from farnode_desktop.ui.windows.style import STYLESHEET
from farnode_desktop.ui.windows.wallet_setup import WalletSetupPanel
from tests.devnet.helpers import secret_service
from tests.ui.fakes import make_core

pytestmark = pytest.mark.keyring


def test_creating_a_wallet_through_the_panel_backs_it_up_first(tmp_path: Path, tasks: TaskRunner,
                                                               qtbot: QtBot) -> None:
    backend = secret_service()
    service = f"FarNode setup test {uuid.uuid4().hex}"
    core = make_core(tmp_path / "home", keystore=backend, wallet_service=service)
    setup_logging(core.paths, "DEBUG")
    logging.getLogger("farnode.test").info("wallet setup test starts")
    QGuiApplication.clipboard().setText("something else")
    vm = WalletSetupViewModel(core, tasks)
    panel = WalletSetupPanel(vm)
    panel.setStyleSheet(STYLESHEET)
    qtbot.addWidget(panel)
    panel.show()
    try:
        assert panel.pages.currentIndex() == 0
        qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
        assert panel.pages.currentIndex() == 1 and core.wallet_address() is None
        shown = [re.sub(r"<[^>]+>", "", w.text()).split() for w in panel.word_labels]
        words = {int(n.rstrip(".")): word for n, word in shown}
        assert sorted(words) == list(range(1, 13))
        assert all(w.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction for w in panel.word_labels)
        buttons = [b.text() for b in panel.findChildren(QPushButton)]
        assert not any("copy" in t.lower() for t in buttons)
        page_text = " ".join(label.text() for label in panel.pages.currentWidget().findChildren(type(panel.error)))
        assert "gone for good" in page_text and "Write the words on paper" in page_text

        qtbot.mouseClick(panel.written_button, Qt.MouseButton.LeftButton)
        assert panel.pages.currentIndex() == 2 and all(w.text() == "" for w in panel.word_labels)
        positions = vm.quiz_positions
        assert [c.text() for c in panel.quiz_labels] == [f"Word #{p}" for p in positions]
        panel.quiz_edits[0].setText("nope")
        for edit, p in zip(panel.quiz_edits[1:], positions[1:], strict=True):
            edit.setText(words[p])
        qtbot.mouseClick(panel.confirm_button, Qt.MouseButton.LeftButton)
        assert f"#{positions[0]}" in panel.error.text() and core.wallet_address() is None
        panel.quiz_edits[0].setText(words[positions[0]])
        qtbot.mouseClick(panel.confirm_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: vm.stage is SetupStage.DONE, timeout=10_000)

        phrase = " ".join(words[i] for i in range(1, 13))
        address = Account.from_mnemonic(phrase).address
        assert core.wallet_address() == address and panel.address_label.text() == f"Wallet: {address}"
        assert backend.get_password(service, KEY_ENTRY) == Account.from_mnemonic(phrase).key.to_0x_hex()
        assert "12 words you wrote down" in panel.backup_label.text()
        assert QGuiApplication.clipboard().text() == "something else"
        for handler in logging.getLogger().handlers:
            handler.flush()
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert any(p.name == "app.log" for p in files)
        for path in files:
            data = path.read_bytes()
            assert phrase.encode() not in data and " ".join(phrase.split()[:3]).encode() not in data, path
    finally:
        for entry in (KEY_ENTRY, ADDRESS_ENTRY):
            with contextlib.suppress(Exception):
                backend.delete_password(service, entry)
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "farnode", False)]:
            root.removeHandler(handler)
            handler.close()
        core.ledger.close()
