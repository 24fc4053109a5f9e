"""The tray tests drive the whole app, which quits with QApplication.exit(): with no exec() running (a test's
waits process events instead), Qt keeps that quit pending and every later event loop returns at once, so the next
test's waits time out. Each test ends by taking it back: one exec() that ends itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def no_quit_left_pending() -> Iterator[None]:
    yield
    if QApplication.instance() is not None:
        QTimer.singleShot(0, QApplication.quit)
        QApplication.exec()
