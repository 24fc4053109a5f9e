"""The app's look: a dark, calm theme in FarNode's colours, and small widgets shared by the windows."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.icons import STATE_COLOURS
from farnode_desktop.ui.viewmodels.tray_vm import TrayState

BG = "#0b1622"
CARD = "#12202f"
CARD_BORDER = "#1d3147"
TEXT = "#e6edf5"
MUTED = "#8aa0b8"
ACCENT = "#4fd1c5"
ORANGE = "#f6ad55"
WARNING = ORANGE  # a line the provider must act on (update FarNode, write the words down), never a muted one
FIELD = "#0e1a28"  # the inside of an input, a check box or a radio button
OUTLINE = "#5b7a9c"  # every control's edge: visible on BG and on CARD (a test measures the contrast)



def resource(*parts: str) -> str:
    """A file under resources/ (the PyInstaller bundle's when frozen), as a path Qt style sheets accept."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if getattr(sys, "frozen", False) and bundle else Path(__file__).resolve().parents[3]
    return root.joinpath("resources", *parts).as_posix()


CHECK_MARK = resource("icons", "check.svg")
ARROW_UP = resource("icons", "arrow-up.svg")
ARROW_DOWN = resource("icons", "arrow-down.svg")
ARROW_UP_DIM = resource("icons", "arrow-up-dim.svg")  # a disabled spin box: still there, clearly not active
ARROW_DOWN_DIM = resource("icons", "arrow-down-dim.svg")

STYLESHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 13px; }}
QLabel {{ background: transparent; }}
QFrame#card {{ background: {CARD}; border: 1px solid {CARD_BORDER}; border-radius: 14px; }}
QFrame#card QLabel, QFrame#card QCheckBox, QFrame#card QRadioButton {{ background: transparent; }}
QLabel#title {{ font-size: 20px; font-weight: 600; }}
QLabel#h2 {{ font-size: 15px; font-weight: 600; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#warning {{ color: {WARNING}; }}
QLabel#big {{ font-size: 22px; font-weight: 600; }}
QLabel#pill {{ border-radius: 10px; padding: 3px 10px; font-weight: 600; color: #0b1622; }}
QPushButton {{ background: #1b2e44; border: 1px solid #274463; border-radius: 8px; padding: 7px 14px; }}
QPushButton:hover {{ background: #23405f; }}
QPushButton:disabled {{ color: #5a6f86; background: #142436; }}
QPushButton#primary {{ background: {ACCENT}; color: #06201d; border: none; font-weight: 600; }}
QPushButton#primary:hover {{ background: #6ee0d6; }}
QPushButton#primary:disabled {{ background: #2c5652; color: #8fb3ae; }}
QPushButton#segment {{ border-radius: 6px; padding: 4px 10px; }}
QPushButton#segment:checked {{ background: {ACCENT}; color: #06201d; border: none; }}
QProgressBar {{ background: #0b1622; border: none; border-radius: 4px; height: 8px; text-align: center; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QTextEdit {{ background: {FIELD};
    border: 1px solid {OUTLINE};
    border-radius: 7px; padding: 5px 8px; selection-background-color: {ACCENT}; selection-color: #06201d; }}
QComboBox QAbstractItemView {{ background: #0e1a28; }}
QTableWidget, QTreeWidget, QListWidget {{ background: {CARD}; border: none; gridline-color: {CARD_BORDER};
    alternate-background-color: #142538; }}
QHeaderView::section {{ background: {CARD}; color: {MUTED}; border: none; padding: 6px; font-weight: 600; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: transparent; color: {MUTED}; padding: 8px 14px; border: none; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QCheckBox, QRadioButton {{ spacing: 8px; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 14px; height: 14px; background: {FIELD};
    border: 2px solid {OUTLINE}; }}
QCheckBox::indicator {{ border-radius: 4px; }}
QRadioButton::indicator {{ border-radius: 9px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url({CHECK_MARK}); }}
QRadioButton::indicator:checked {{ border-color: {ACCENT}; background: qradialgradient(cx: 0.5, cy: 0.5,
    radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {ACCENT}, stop: 0.55 {ACCENT}, stop: 0.65 {FIELD}, stop: 1 {FIELD}); }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: #3a4d63; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 24px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-origin: border; width: 20px; background: #1b2e44; border-left: 1px solid {OUTLINE}; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-position: top right; border-top-right-radius: 7px;
    border-bottom: 1px solid {OUTLINE}; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-position: bottom right;
    border-bottom-right-radius: 7px; }}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover, QSpinBox::down-button:hover,
    QDoubleSpinBox::down-button:hover {{ background: #23405f; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({ARROW_UP}); width: 10px; height: 6px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow, QComboBox::down-arrow {{ image: url({ARROW_DOWN}); width: 10px;
    height: 6px; }}
QSpinBox::up-arrow:disabled, QDoubleSpinBox::up-arrow:disabled {{ image: url({ARROW_UP_DIM}); }}
QSpinBox::down-arrow:disabled, QDoubleSpinBox::down-arrow:disabled {{ image: url({ARROW_DOWN_DIM}); }}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right; width: 22px;
    border-left: 1px solid {OUTLINE}; }}
QScrollArea {{ border: none; }}
QMenu {{ background: {CARD}; border: 1px solid {CARD_BORDER}; padding: 4px; }}
QMenu::item {{ padding: 6px 18px; border-radius: 5px; }}
QMenu::item:selected {{ background: #23405f; }}
QMenu::item:disabled {{ color: {MUTED}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: #274463; border-radius: 4px; min-height: 28px; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle:horizontal {{ background: #274463; border-radius: 4px; min-width: 28px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
QToolTip {{ background: {CARD}; color: {TEXT}; border: 1px solid {CARD_BORDER}; }}
"""


def state_colour(state: str) -> str:
    try:
        return STATE_COLOURS[TrayState(state)]
    except ValueError:
        return STATE_COLOURS[TrayState.STOPPED]


def card(parent: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(18, 16, 18, 16)
    layout.setSpacing(10)
    return frame, layout


def label(text: str = "", name: str = "", wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


def set_pill(widget: QLabel, text: str, state: str) -> None:
    widget.setObjectName("pill")
    widget.setText(text)
    widget.setStyleSheet(f"background: {state_colour(state)};")


def pill(text: str, state: str) -> QLabel:
    widget = QLabel()
    set_pill(widget, text, state)
    widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def bar(fraction: float | None, colour: str = ACCENT) -> QProgressBar:
    widget = QProgressBar()
    widget.setRange(0, 1000)
    widget.setValue(int(1000 * max(0.0, min(1.0, fraction or 0.0))))
    widget.setTextVisible(False)
    widget.setFixedHeight(8)
    if colour != ACCENT:
        widget.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; border-radius: 4px; }}")
    return widget


def stat(title: str, value: str, note: str = "") -> tuple[QFrame, QLabel, QLabel]:
    """A figure card: a small title, a big value, a note under it."""
    frame, layout = card()
    layout.addWidget(label(title, "muted"))
    big = label(value, "big")
    layout.addWidget(big)
    small = label(note, "muted", wrap=True)
    layout.addWidget(small)
    return frame, big, small


def header_row(title: str, *right: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(label(title, "title"))
    row.addStretch(1)
    for widget in right:
        row.addWidget(widget)
    return row


def chart_font(size: int = 9) -> QFont:
    font = QFont()
    font.setPointSize(size)
    return font


def qcolor(hex_colour: str, alpha: int = 255) -> QColor:
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


# Room left for the window manager's title bar and borders when a window is sized to the screen's free area.
FRAME_ALLOWANCE = (16, 48)


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Open at `width` x `height`, or smaller where the screen's free area (less the title bar) is smaller:
    on a 1366x768 laptop every window opens whole, its buttons on screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width = min(width, area.width() - FRAME_ALLOWANCE[0])
        height = min(height, area.height() - FRAME_ALLOWANCE[1])
    window.resize(width, height)


def scrolled(content: QWidget) -> QScrollArea:
    """`content` in a frameless vertical scroll area (the window's buttons stay outside it, always reachable)."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area
