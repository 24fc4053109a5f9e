"""The Logs window offscreen: it follows the logs only while shown, filters by source, shows no secret, and says
where the diagnostics went."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.logs_vm import LogsViewModel
from farnode_desktop.ui.windows.logs import LogsWindow
from tests.core.earnings.test_wallet import PHRASE_ADDRESS, PHRASE_KEY


def test_the_logs_window_follows_filters_and_exports(core: AppCore, tasks: TaskRunner, qtbot: QtBot,
                                                    tmp_path: Path) -> None:
    (core.paths.logs / "app.log").write_text(f"INFO tray icon shown\nINFO wallet {PHRASE_ADDRESS} bound\n")
    (core.paths.logs / "gpu0.log").write_text("INFO serving blocks 0-40\n")
    vm = LogsViewModel(core, tasks)
    window = LogsWindow(vm)
    qtbot.addWidget(window)
    assert [window.source.itemText(i) for i in range(window.source.count())] == ["all", "app", "gpu0"]
    assert window.text.toPlainText() == ""  # nothing is read while the window is hidden
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: "serving blocks 0-40" in window.text.toPlainText())
    text = window.text.toPlainText()
    assert "[app] INFO tray icon shown" in text and PHRASE_ADDRESS not in text
    assert f"{PHRASE_ADDRESS[:6]}…{PHRASE_ADDRESS[-4:]}" in text

    window.source.setCurrentText("gpu0")
    assert window.text.toPlainText() == "[gpu0] INFO serving blocks 0-40"
    with (core.paths.logs / "app.log").open("a") as fh:
        fh.write(f"DEBUG oops key {PHRASE_KEY}\n")
    with (core.paths.logs / "gpu0.log").open("a") as fh:
        fh.write("INFO served 120 tokens\n")
    qtbot.waitUntil(lambda: "served 120 tokens" in window.text.toPlainText(), timeout=5000)
    qtbot.waitUntil(lambda: any("oops" in line for line in vm.lines), timeout=5000)
    assert "oops" not in window.text.toPlainText()  # another source's new line is not shown under gpu0
    window.source.setCurrentText("all")
    assert "oops key" in window.text.toPlainText() and PHRASE_KEY[2:] not in window.text.toPlainText()

    target = tmp_path / "diag.zip"
    with qtbot.waitSignal(vm.exported, timeout=10_000):
        window.export_to(target)
    assert window.status.text().startswith(f"Saved {target}") and "keys and addresses removed" in window.status.text()
    with zipfile.ZipFile(target) as zf:
        assert "logs/gpu0.log" in zf.namelist()

    window.hide()
    with (core.paths.logs / "gpu0.log").open("a") as fh:
        fh.write("INFO after the window closed\n")
    qtbot.wait(1500)
    assert "after the window closed" not in window.text.toPlainText()  # hidden: no longer followed
