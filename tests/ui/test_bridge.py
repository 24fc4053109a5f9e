"""The bridge delivers core events from any thread to slots on the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.ui.bridge import CoreBridge


def gui_thread() -> QThread:
    app = QApplication.instance()
    assert app is not None
    return app.thread()


def test_an_event_from_a_worker_thread_reaches_slots_on_the_gui_thread(qtbot: QtBot) -> None:
    bus = EventBus()
    bridge = CoreBridge(bus)
    seen: list[tuple[str, bool]] = []
    bridge.node_state.connect(lambda e: seen.append((e.reason, QThread.currentThread() is gui_thread())))
    bridge.claim.connect(lambda e: seen.append((e.topic, QThread.currentThread() is gui_thread())))
    worker = threading.Thread(target=lambda: (
        bus.emit(Event("node.state", "gpu0", "serving blocks 0-8", {"state": "serving"})),
        bus.emit(Event("payout.confirmed", "wallet", "paid")),
        bus.emit(Event("gpu.telemetry", "gpus", "sample")),
    ))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert seen == [("serving blocks 0-8", True), ("payout.confirmed", True)]
    bridge.close()
    bus.emit(Event("node.state", "gpu0", "after close"))
    qtbot.wait(50)
    assert len(seen) == 2
