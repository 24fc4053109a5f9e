"""The shared look offscreen: the stylesheet parses (Qt warns otherwise, which fails the test), state colours
match the tray icon's, and the small widgets the windows build from show what they are given."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from farnode_desktop.ui.icons import STATE_COLOURS
from farnode_desktop.ui.viewmodels.tray_vm import TrayState
from farnode_desktop.ui.windows.style import (
    ACCENT,
    ORANGE,
    STYLESHEET,
    bar,
    header_row,
    label,
    pill,
    qcolor,
    set_pill,
    stat,
    state_colour,
)


def test_the_stylesheet_applies_without_a_warning(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.setStyleSheet(STYLESHEET)
    _frame, big, _note = stat("Served", "1,234", "tokens today")
    big.setParent(window)
    window.show()
    qtbot.waitExposed(window)  # a stylesheet Qt cannot parse is logged as a warning: qt_log_level_fail = WARNING
    assert window.styleSheet() == STYLESHEET


@pytest.mark.parametrize("state", list(TrayState))
def test_each_state_has_the_tray_icons_colour(state: TrayState) -> None:
    assert state_colour(state.value) == STATE_COLOURS[state]


def test_an_unknown_state_is_drawn_as_stopped() -> None:
    assert state_colour("loading shards") == STATE_COLOURS[TrayState.STOPPED]


def test_pills_say_the_state_in_its_colour(qtbot: QtBot) -> None:
    widget = pill("Serving", "serving")
    qtbot.addWidget(widget)
    assert (widget.objectName(), widget.text()) == ("pill", "Serving")
    assert widget.styleSheet() == f"background: {STATE_COLOURS[TrayState.SERVING]};"
    set_pill(widget, "Needs attention", "needs attention")
    assert widget.text() == "Needs attention" and STATE_COLOURS[TrayState.ATTENTION] in widget.styleSheet()


@pytest.mark.parametrize(("fraction", "value"), [(None, 0), (-0.5, 0), (0.0, 0), (0.4567, 456), (1.0, 1000), (3.0, 1000)])
def test_bars_show_a_fraction_kept_between_empty_and_full(fraction: float | None, value: int, qtbot: QtBot) -> None:
    widget = bar(fraction)
    qtbot.addWidget(widget)
    assert (widget.minimum(), widget.maximum(), widget.value()) == (0, 1000, value)
    assert not widget.isTextVisible() and widget.styleSheet() == ""  # the theme's accent colour


def test_a_bar_in_another_colour(qtbot: QtBot) -> None:
    widget = bar(0.5, ORANGE)
    qtbot.addWidget(widget)
    assert ORANGE in widget.styleSheet() and ACCENT not in widget.styleSheet()


def test_cards_labels_and_header_rows(qtbot: QtBot) -> None:
    frame, big, note = stat("Claimable", "1.25 FAR", "minimum claim 1 FAR")
    qtbot.addWidget(frame)
    assert frame.objectName() == "card"
    texts = [w.text() for w in frame.findChildren(QLabel)]
    assert texts == ["Claimable", "1.25 FAR", "minimum claim 1 FAR"]
    assert (big.objectName(), note.objectName(), note.wordWrap()) == ("big", "muted", True)
    plain = label("hello")
    qtbot.addWidget(plain)
    assert plain.objectName() == "" and not plain.wordWrap()
    button = QLabel("right")
    qtbot.addWidget(button)
    row = header_row("Wallet", button)
    assert row.count() == 3 and row.itemAt(2).widget() is button  # title, stretch, then what goes right


def test_qcolor_keeps_the_colour_and_sets_the_alpha() -> None:
    colour = qcolor(ACCENT, 150)
    assert colour.name() == ACCENT and colour.alpha() == 150
    assert qcolor(ACCENT).alpha() == 255


def _contrast(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


@pytest.mark.parametrize("on_card", [False, True])
def test_unchecked_boxes_radio_buttons_and_spin_arrows_have_visible_outlines(qtbot: QtBot, on_card: bool) -> None:
    """The issue's dark-theme bug: an unchecked box read as plain text. Each control's edge is drawn in a colour
    that stands out from what is behind it, measured on the rendered pixels."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QCheckBox, QRadioButton, QSpinBox, QStyle, QStyleOptionButton, QVBoxLayout

    from farnode_desktop.ui.windows.style import BG, CARD, card

    window = QWidget()
    qtbot.addWidget(window)
    window.setStyleSheet(STYLESHEET)
    outer = QVBoxLayout(window)
    frame, layout = card() if on_card else (window, outer)
    if on_card:
        outer.addWidget(frame)
    box, radio, spin = QCheckBox("Start FarNode when I log in"), QRadioButton("Manual"), QSpinBox()
    for w in (box, radio, spin):
        layout.addWidget(w)
    window.show()
    qtbot.waitExposed(window)
    image = window.grab().toImage()
    behind = QColor(CARD if on_card else BG)
    for button in (box, radio):
        option = QStyleOptionButton()
        option.initFrom(button)
        element = (QStyle.SubElement.SE_CheckBoxIndicator if button is box else
                   QStyle.SubElement.SE_RadioButtonIndicator)
        rect = button.style().subElementRect(element, option, button)
        origin = button.mapTo(window, QPoint(0, 0))
        row = origin.y() + rect.center().y()
        edge = max(_contrast(image.pixelColor(origin.x() + x, row), behind)
                   for x in range(rect.left(), rect.left() + 4))
        assert edge >= 120, (type(button).__name__, edge)  # the outline, not the background
    origin = spin.mapTo(window, QPoint(0, 0))
    arrows = [image.pixelColor(origin.x() + spin.width() - x, origin.y() + y)
              for x in range(4, 20) for y in range(2, spin.height() - 2)]
    assert max(_contrast(c, QColor("#1b2e44")) for c in arrows) >= 200  # the arrows stand out of their buttons
