"""What a screenshot is checked for, kept as tests: the window fits the screen, its primary buttons are fully on
screen, every check box and radio button has a visible outline, and no visible text says "wei"."""

from __future__ import annotations

import gc
import importlib
import re
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStyle,
    QStyleOptionButton,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItemIterator,
    QWidget,
)
from pytestqt.qtbot import QtBot

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet import Devnet

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SCREEN = (1366, 768)
WEI = re.compile(r"\bwei\b", re.IGNORECASE)


def pin_devnet(paths: AppPaths, devnet: Devnet) -> None:
    """Pin this devnet's token the way the demo does, where this installation pins networks (signing policy)."""
    try:
        network = importlib.import_module("farnode_desktop.core.earnings.network")
    except ImportError:
        return
    assert devnet.info is not None
    network.pin_local_devnet(paths, devnet.info.pinned_network())


def contrast(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def visible_texts(window: QWidget) -> list[str]:
    """Every text a provider can read in the window: labels, buttons, fields, tree rows, tooltips."""
    texts: list[str] = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel):
            texts.append(re.sub(r"<[^>]+>", "", widget.text()))
        elif isinstance(widget, QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            texts += [widget.text(), widget.placeholderText()]
        elif isinstance(widget, (QPlainTextEdit, QTextEdit)):
            texts += [widget.toPlainText(), widget.placeholderText()]
        elif isinstance(widget, QTreeWidget):
            it = QTreeWidgetItemIterator(widget)
            while it.value() is not None:
                item = it.value()
                texts += [item.text(c) for c in range(item.columnCount())]
                texts += [item.toolTip(c) for c in range(item.columnCount())]
                it += 1
    return [t for t in texts if t]


def fits_screen(window: QWidget) -> None:
    screen = window.screen()
    area = screen.availableGeometry()
    frame = window.frameGeometry()
    assert (screen.geometry().width(), screen.geometry().height()) == SCREEN, screen.geometry()
    assert frame.width() <= area.width() and frame.height() <= area.height(), (window.windowTitle(), frame, area)
    assert window.minimumSizeHint().height() <= area.height(), (window.windowTitle(), window.minimumSizeHint())


def no_sideways_scrolling(window: QWidget) -> None:
    """Content fits the window's width: no scroll area needs a horizontal scroll bar (text wraps instead)."""
    for area in window.findChildren(QScrollArea):
        if area.isVisibleTo(window) and not isinstance(area, QAbstractItemView):
            assert not area.horizontalScrollBar().isVisible(), (window.windowTitle(), area.widget())


def primary_buttons_reachable(window: QWidget) -> list[str]:
    """Each shown primary button is wholly visible (not clipped by a scroll area or the window's edge)."""
    shown = []
    for button in window.findChildren(QPushButton):
        if button.objectName() != "primary" or not button.isVisibleTo(window):
            continue
        region = button.visibleRegion().boundingRect()
        assert region == button.rect(), (window.windowTitle(), button.text(), region, button.rect())
        top_left = button.mapTo(window, QPoint(0, 0))
        assert window.rect().contains(QRect(top_left, button.size())), (window.windowTitle(), button.text())
        shown.append(button.text())
    return shown


def outlines_visible(window: QWidget, image: QImage) -> int:
    """Each visible check box and radio button has an edge that stands out from the pixels just outside it."""
    checked = 0
    for button in window.findChildren(QAbstractButton):
        if not isinstance(button, (QCheckBox, QRadioButton)) or not button.isVisibleTo(window):
            continue
        if button.visibleRegion().isEmpty():
            continue  # scrolled out of view: not in this picture
        option = QStyleOptionButton()
        option.initFrom(button)
        element = (QStyle.SubElement.SE_CheckBoxIndicator if isinstance(button, QCheckBox)
                   else QStyle.SubElement.SE_RadioButtonIndicator)
        rect = button.style().subElementRect(element, option, button)
        origin = button.mapTo(window, QPoint(0, 0))
        y = origin.y() + rect.center().y()
        x0 = origin.x() + rect.left()
        outside = image.pixelColor(max(0, x0 - 2), y)
        edge = max(contrast(image.pixelColor(x0 + dx, y), outside) for dx in range(0, 4))
        assert edge >= 120, (window.windowTitle(), button.text(), edge)
        checked += 1
    return checked


def check_and_shoot(window: QWidget, qtbot: QtBot, name: str) -> Path:
    """Show the window as the app opens it, save its picture, and run every check on it."""
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(200)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    image = window.grab().toImage()
    assert image.save(str(path)), path
    fits_screen(window)
    no_sideways_scrolling(window)
    primary_buttons_reachable(window)
    outlines_visible(window, image)
    wei = [t for t in visible_texts(window) if WEI.search(t)]
    assert not wei, (name, wei)
    return path


def settle_qt() -> None:
    """Let Qt finish with what a test made while it is all still alive: close the windows, run the deferred deletes
    and the queued calls, collect Python's cycles. Left pending, they ran in a later test's event processing, after
    their Python owners were gone (a segfault in the next tray test)."""
    app = QApplication.instance()
    if app is None:
        return
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
        gc.collect()
