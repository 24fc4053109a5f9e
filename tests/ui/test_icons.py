"""The tray icon: a different colour and badge per state, legible at tray sizes."""

from __future__ import annotations

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from farnode_desktop.ui.icons import STATE_COLOURS, draw_icon, tray_icon
from farnode_desktop.ui.viewmodels.tray_vm import TrayState


def test_each_state_has_its_own_colour_and_badge(qtbot: QtBot) -> None:
    images = {state: draw_icon(state, 64).toImage() for state in TrayState}
    for state, image in images.items():
        body = image.pixelColor(8, 32)  # the left edge: the state's colour
        wanted = STATE_COLOURS[state]
        assert abs(body.hue() - QColor(wanted).hue()) <= 8 or state is TrayState.STOPPED  # grey has no hue
    badges = {state: bytes(image.copy(40, 40, 24, 24).constBits()) for state, image in images.items()}
    assert len(set(badges.values())) == len(TrayState)  # every badge differs
    bodies = {image.pixelColor(8, 32).name() for image in images.values()}
    assert len(bodies) == len(TrayState)
    for state in TrayState:
        icon = tray_icon(state)
        assert not icon.isNull() and {s.width() for s in icon.availableSizes()} >= {16, 22, 24, 32}
