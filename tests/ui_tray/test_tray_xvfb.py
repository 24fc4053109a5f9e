"""The real tray icon under an X display with a tray host (Xvfb + trayer in `make test`): it shows, says the
state, and its menu has every action; a screenshot of the screen goes to artifacts/screenshots/tray.png."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet.demo import MemoryKeyring
from farnode_desktop.ui.app import FarNodeApp
from farnode_desktop.ui.viewmodels.tray_vm import TrayState
from tests.ui.fakes import BIG_MODEL, make_core

pytestmark = [
    pytest.mark.tray,
    pytest.mark.skipif(not (os.environ.get("FARNODE_TEST_DISPLAY") and os.environ.get("DISPLAY")),
                       reason="needs an X display with a tray host: set FARNODE_TEST_DISPLAY=1 under "
                              "xvfb-run with trayer running (see the Makefile's test target)"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_the_tray_icon_shows_the_state_and_the_menu(qtbot: QtBot, tmp_path: Path) -> None:
    assert QSystemTrayIcon.isSystemTrayAvailable(), "no tray host on this display (is trayer running?)"
    # The wallet is not what this test is about: an in-memory keyring keeps the display session's
    # (locked) Secret Service from prompting.
    core = make_core(tmp_path / "home", settings=Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=True),
                     keystore=MemoryKeyring())
    app = FarNodeApp(core)
    assert app.use_tray
    app.launch()
    tray = app.tray
    assert tray is not None
    qtbot.waitUntil(tray.icon.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: app.tray_vm.state is TrayState.SERVING, timeout=15_000)
    assert all(s.state is NodeState.SERVING for s in core.node_statuses())
    assert tray.icon.toolTip().startswith("FarNode: serving\nServing 1,160 tokens/s")
    menu = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert menu == ["FarNode: serving", "Stop serving", "Pause serving", "Resume serving", "Dashboard",
                    "Wallet && earnings", "Settings", "Logs", "Downloading an update", "Restart to update",
                    "Quit FarNode"]
    # the app update's two lines are there for a download and a staged update, hidden while neither is
    assert not tray.update_progress.isVisible() and not tray.restart_action.isVisible()
    tray.refresh()
    pauses = [a.text() for a in tray.pause_menu.actions()]
    assert pauses[0].startswith("Pause for 30 min  (≈ 2.1 M served tokens)")
    assert pauses[3].startswith("Pause until I resume  (≈ 4.2 M served tokens per hour)")
    assert not tray.resume_action.isVisible()

    geometry = tray.icon.geometry()
    assert geometry.width() > 0, "the tray host did not place the icon"
    tray.menu.popup(QPoint(max(0, geometry.left() - 300), geometry.bottom() + 4))
    qtbot.waitExposed(tray.menu)
    tray.pause_menu.popup(QPoint(max(0, geometry.left() - 300 - 420), geometry.bottom() + 60))
    qtbot.wait(400)
    if shutil.which("import"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / "tray.png"
        subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=30)
        assert shot.stat().st_size > 1000
    tray.pause_menu.hide()
    tray.menu.hide()

    app.quit()
    qtbot.waitUntil(lambda: all(s.state is NodeState.STOPPED for s in core.node_statuses()), timeout=10_000)
    assert not tray.icon.isVisible()
