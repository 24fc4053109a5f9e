"""The whole app offscreen: no tray exists there, so the dashboard is a normal window, and closing it quits
after every node has stopped."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet.demo import MemoryKeyring
from farnode_desktop.ui.app import FarNodeApp
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.fakes import BIG_MODEL, make_core


def test_without_a_tray_the_dashboard_is_the_main_window(qtbot: QtBot, tmp_path: Path) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen has no tray
    core = make_core(tmp_path / "home", settings=Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=True),
                     keystore=MemoryKeyring())
    app = FarNodeApp(core)
    app.launch()
    assert app.tray is None
    window = app.windows["dashboard"]
    assert isinstance(window, DashboardWindow) and window.isVisible()
    # the headline's rate is the chart's latest minute (the fake nodes serve 850 + 310 tokens/s)
    headline = re.compile(r"Serving on 2 nodes · ([\d,]+) tokens/s")
    qtbot.waitUntil(lambda: bool(m := headline.fullmatch(window.headline.text()))
                    and 0 < int(m.group(1).replace(",", "")) <= 1160 * 1.1, timeout=15_000)
    assert app.heartbeat.ticks > 0
    window.close()
    qtbot.waitUntil(lambda: all(s.state is NodeState.STOPPED for s in core.node_statuses()), timeout=10_000)
    assert app._quitting
    qtbot.waitUntil(lambda: app._finished_once, timeout=10_000)
    # The app left "the" event loop with QApplication.exit(), which no exec() was running here: Qt keeps that
    # quit pending and every later event loop (each qtbot wait of the next tests) would return at once. One
    # exec() that ends itself takes it back.
    QTimer.singleShot(0, QApplication.quit)
    QApplication.exec()
