"""The tray icon, drawn with QPainter: the FarNode mesh on the state's colour, with a badge saying the state."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from farnode_desktop.ui.viewmodels.tray_vm import TrayState

STATE_COLOURS: dict[TrayState, str] = {
    TrayState.SERVING: "#2fbf71",  # green
    TrayState.NO_REQUESTS: "#0ea5b7",  # teal: up and healthy, but waiting for work
    TrayState.STARTING: "#3b82f6",  # blue
    TrayState.PAUSED: "#f5a524",  # amber
    TrayState.ATTENTION: "#e5484d",  # red
    TrayState.STOPPED: "#7b8794",  # grey
}
SIZES = (16, 22, 24, 32, 48, 64)
_NODES = ((0.24, 0.26), (0.76, 0.24), (0.23, 0.74), (0.77, 0.76))
_HUB = (0.5, 0.51)


def state_colour(state: TrayState) -> QColor:
    return QColor(STATE_COLOURS[state])


def draw_icon(state: TrayState, size: int) -> QPixmap:
    """One size of the icon. The badge sits bottom-right and stays legible down to 16 px."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    colour = state_colour(state)
    body = QRectF(0.03 * s, 0.03 * s, 0.94 * s, 0.94 * s)
    gradient = QLinearGradient(body.topLeft(), body.bottomLeft())
    gradient.setColorAt(0.0, colour.lighter(115))
    gradient.setColorAt(1.0, colour.darker(135))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawRoundedRect(body, 0.22 * s, 0.22 * s)

    # The mesh: four peers tied to this PC's node in the middle.
    white = QColor("#ffffff")
    p.setPen(QPen(white, max(1.0, 0.065 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    hub = QPointF(_HUB[0] * s, _HUB[1] * s)
    for x, y in _NODES:
        p.drawLine(hub, QPointF(x * s, y * s))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(white)
    for x, y in _NODES:
        p.drawEllipse(QPointF(x * s, y * s), 0.075 * s, 0.075 * s)
    p.drawEllipse(hub, 0.15 * s, 0.15 * s)
    p.setBrush(colour.darker(160))
    p.drawEllipse(hub, 0.065 * s, 0.065 * s)
    _draw_badge(p, state, s)
    p.end()
    return pixmap


def _draw_badge(p: QPainter, state: TrayState, s: float) -> None:
    r = 0.25 * s
    centre = QPointF(s - r - 0.01 * s, s - r - 0.01 * s)
    p.setPen(QPen(QColor("#0d1b2a"), max(1.0, 0.06 * s)))
    p.setBrush(QColor("#ffffff"))
    p.drawEllipse(centre, r, r)
    ink = state_colour(state).darker(120)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(ink)
    cx, cy, g = centre.x(), centre.y(), 0.5 * r
    if state is TrayState.SERVING:  # a play triangle
        p.drawPolygon(QPolygonF([QPointF(cx - 0.7 * g, cy - g), QPointF(cx - 0.7 * g, cy + g),
                                 QPointF(cx + g, cy)]))
    elif state is TrayState.NO_REQUESTS:  # three dots: waiting
        for dx in (-0.75, 0.0, 0.75):
            p.drawEllipse(QPointF(cx + dx * g, cy), 0.27 * g, 0.27 * g)
    elif state is TrayState.STARTING:  # an arc, like a spinner
        p.setPen(QPen(ink, max(1.0, 0.42 * g), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(QRectF(cx - g, cy - g, 2 * g, 2 * g), 90 * 16, -270 * 16)
    elif state is TrayState.PAUSED:  # two bars
        w = 0.5 * g
        p.drawRect(QRectF(cx - 0.9 * g, cy - g, w, 2 * g))
        p.drawRect(QRectF(cx + 0.4 * g, cy - g, w, 2 * g))
    elif state is TrayState.ATTENTION:  # an exclamation mark
        path = QPainterPath()
        path.addRoundedRect(QRectF(cx - 0.25 * g, cy - 1.1 * g, 0.5 * g, 1.4 * g), 0.2 * g, 0.2 * g)
        path.addEllipse(QPointF(cx, cy + 0.85 * g), 0.28 * g, 0.28 * g)
        p.drawPath(path)
    else:  # stopped: a square
        p.drawRect(QRectF(cx - 0.75 * g, cy - 0.75 * g, 1.5 * g, 1.5 * g))


@cache
def tray_icon(state: TrayState) -> QIcon:
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(draw_icon(state, size))
    return icon


def app_icon() -> QIcon:
    """The application's own icon (windows, notifications): the resources' SVG renders, else the drawn one."""
    from farnode_desktop.core.node.runtime_lock import runtime_resources

    folder = runtime_resources().parent / "icons"  # resources/icons of the frozen bundle or the checkout
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        png = folder / f"farnode-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    return icon if not icon.isNull() else tray_icon(TrayState.SERVING)
