"""The app's look: a dark, calm theme in FarNode's colours, and small widgets shared by the windows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from farnode_desktop.ui.icons import STATE_COLOURS
from farnode_desktop.ui.viewmodels.tray_vm import TrayState

BG = "#0b1622"
CARD = "#12202f"
CARD_BORDER = "#1d3147"
TEXT = "#e6edf5"
MUTED = "#8aa0b8"
ACCENT = "#4fd1c5"
ORANGE = "#f6ad55"

STYLESHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 13px; }}
QLabel {{ background: transparent; }}
QFrame#card {{ background: {CARD}; border: 1px solid {CARD_BORDER}; border-radius: 14px; }}
QFrame#card QLabel, QFrame#card QCheckBox, QFrame#card QRadioButton {{ background: transparent; }}
QLabel#title {{ font-size: 20px; font-weight: 600; }}
QLabel#h2 {{ font-size: 15px; font-weight: 600; }}
QLabel#muted {{ color: {MUTED}; }}
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
QLineEdit, QPlainTextEdit, QSpinBox, QComboBox, QTextEdit {{ background: #0e1a28; border: 1px solid #274463;
    border-radius: 7px; padding: 5px 8px; selection-background-color: {ACCENT}; selection-color: #06201d; }}
QComboBox QAbstractItemView {{ background: #0e1a28; }}
QTableWidget, QTreeWidget, QListWidget {{ background: {CARD}; border: none; gridline-color: {CARD_BORDER};
    alternate-background-color: #142538; }}
QHeaderView::section {{ background: {CARD}; color: {MUTED}; border: none; padding: 6px; font-weight: 600; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: transparent; color: {MUTED}; padding: 8px 14px; border: none; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 16px; height: 16px; }}
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
