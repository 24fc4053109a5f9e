"""QtCharts views in the app's theme: served tokens/s over time and earnings per day."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCharts import (
    QAreaSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QScatterSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QMargins, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QCursor, QLinearGradient, QPainter, QPen, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QToolTip

from farnode_desktop.core.earnings.served_work import MinutePoint
from farnode_desktop.ui.windows.style import ACCENT, CARD_BORDER, MUTED, ORANGE, TEXT, chart_font, qcolor


def _themed_chart() -> QChart:
    chart = QChart()
    chart.setBackgroundVisible(False)
    chart.setPlotAreaBackgroundVisible(False)
    chart.legend().setVisible(False)
    chart.setMargins(QMargins(0, 6, 6, 0))
    chart.layout().setContentsMargins(0, 0, 0, 0)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    return chart


def _style_axis(axis: QValueAxis | QDateTimeAxis | QBarCategoryAxis) -> None:
    axis.setLabelsColor(QColor(MUTED))
    axis.setLabelsFont(chart_font(9))
    axis.setGridLineColor(qcolor(CARD_BORDER))
    axis.setLinePen(QPen(qcolor(CARD_BORDER)))
    axis.setTitleBrush(QBrush(QColor(TEXT)))


class _ThemedView(QChartView):
    """Re-applies the value axis on show and resize: labels measured while hidden would stay elided."""

    y_axis: QValueAxis

    def _relabel(self) -> None:
        top = self.y_axis.max()
        self.y_axis.setRange(0.0, top + 1.0)
        self.y_axis.setRange(0.0, top)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._relabel()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relabel()


def nice_max(value: float) -> float:
    """A round axis maximum a bit above `value` (1, 2, 2.5, 5 x 10^n), also below 1 (0.25 FAR a day -> 0.5)."""
    if value <= 0:
        return 1.0
    target = value * 1.15
    magnitude = 10.0 ** math.floor(math.log10(target))
    for step in (1, 2, 2.5, 5, 10):
        if target <= step * magnitude * (1 + 1e-12):
            return round(step * magnitude, 12)
    return round(10 * magnitude, 12)


def axis_ticks(top: float) -> tuple[int, int]:
    """How many ticks and decimals a 0..`top` axis gets so that every label is a different, exact value
    (0, 0.2, ... 1 rather than 0, 0, 1, 1, 1): the tick count whose step needs the fewest decimals, 5 preferred."""
    best: tuple[float, int, int] | None = None
    for count, penalty in ((5, 0.0), (6, 0.1), (3, 0.6), (4, 0.2)):
        step = top / (count - 1)
        decimals = next((d for d in range(11) if abs(round(step, d) - step) <= 1e-9 * max(1.0, step)), None)
        if decimals is None:
            continue
        score = decimals + penalty
        if best is None or score < best[0]:
            best = (score, count, decimals)
    return (best[1], best[2]) if best is not None else (5, 2)


def _apply_ticks(axis: QValueAxis, top: float) -> None:
    count, decimals = axis_ticks(top)
    axis.setRange(0.0, top)
    axis.setTickCount(count)
    axis.setLabelFormat(f"%.{decimals}f")


class ThroughputChart(_ThemedView):
    """Served tokens/s, filled under the line, over the last hour or day; hovering a minute shows its figures.

    A dot marks the latest minute (the one ending now, still filling): a line needs two minutes, and in a node's
    first minute that dot is all there is to see of the tokens/s the header already shows.
    """

    def __init__(self) -> None:
        chart = _themed_chart()
        super().__init__(chart)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setStyleSheet("background: transparent;")
        self.line = QLineSeries()
        self.base = QLineSeries()
        self.area = QAreaSeries(self.line, self.base)
        pen = QPen(QColor(ACCENT))
        pen.setWidthF(2.2)
        self.area.setPen(pen)
        gradient = QLinearGradient(QPointF(0, 0), QPointF(0, 1))
        gradient.setCoordinateMode(QLinearGradient.CoordinateMode.ObjectBoundingMode)
        gradient.setColorAt(0.0, qcolor(ACCENT, 150))
        gradient.setColorAt(1.0, qcolor(ACCENT, 10))
        self.area.setBrush(QBrush(gradient))
        chart.addSeries(self.area)
        self.latest = QScatterSeries()
        self.latest.setMarkerShape(QScatterSeries.MarkerShape.MarkerShapeCircle)
        self.latest.setMarkerSize(10.0)
        self.latest.setColor(QColor(ACCENT))
        self.latest.setBorderColor(QColor(TEXT))
        chart.addSeries(self.latest)
        self.x_axis = QDateTimeAxis()
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%.0f")
        self.y_axis.setTickCount(5)
        for axis, side in ((self.x_axis, Qt.AlignmentFlag.AlignBottom), (self.y_axis, Qt.AlignmentFlag.AlignLeft)):
            _style_axis(axis)
            chart.addAxis(axis, side)
            self.area.attachAxis(axis)
            self.latest.attachAxis(axis)
        self.setMinimumHeight(200)
        self.shown: list[MinutePoint] = []
        self.describe: Callable[[MinutePoint], str] = lambda p: f"{p.tokens_per_s:,.0f} tokens/s"
        self.area.hovered.connect(self._hovered)
        self.latest.hovered.connect(self._hovered)
        self.set_points([], 3600.0)

    def set_points(self, points: Sequence[MinutePoint], span_s: float, now: float | None = None,
                   describe: Callable[[MinutePoint], str] | None = None) -> None:
        end = now if now is not None else time.time()
        start = end - span_s
        self.shown = [p for p in points if start <= p.at <= end]
        if describe is not None:
            self.describe = describe
        self.line.replace([QPointF(p.at * 1000.0, p.tokens_per_s) for p in self.shown])
        self.base.replace([QPointF(p.at * 1000.0, 0.0) for p in self.shown])
        self.latest.replace([QPointF(p.at * 1000.0, p.tokens_per_s) for p in self.shown[-1:]])
        self.x_axis.setFormat("HH:mm")
        self.x_axis.setTickCount(7 if span_s <= 3600 else 9)
        self.x_axis.setRange(QDateTime.fromMSecsSinceEpoch(int(start * 1000)),
                             QDateTime.fromMSecsSinceEpoch(int(end * 1000)))
        _apply_ticks(self.y_axis, max(1.0, nice_max(max((p.tokens_per_s for p in self.shown), default=0.0))))

    def tooltip_at(self, x_ms: float) -> str:
        """The figures of the minute nearest to `x_ms` (the chart's x, ms since the epoch); "" with no points."""
        if not self.shown:
            return ""
        nearest = min(self.shown, key=lambda p: abs(p.at * 1000.0 - x_ms))
        return self.describe(nearest)

    def _hovered(self, point: QPointF, state: bool) -> None:
        if state:
            QToolTip.showText(QCursor.pos(), self.tooltip_at(point.x()), self)
        else:
            QToolTip.hideText()


class DailyEarningsChart(_ThemedView):
    """Earned per day (the coordinator's UTC days), as bars."""

    def __init__(self) -> None:
        chart = _themed_chart()
        super().__init__(chart)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setStyleSheet("background: transparent;")
        self.bars = QBarSet("earned")
        self.bars.setColor(QColor(ORANGE))
        self.bars.setBorderColor(QColor(ORANGE))
        self.series = QBarSeries()
        self.series.setBarWidth(0.6)
        self.series.append(self.bars)
        chart.addSeries(self.series)
        self.x_axis = QBarCategoryAxis()
        self.y_axis = QValueAxis()
        self.y_axis.setTickCount(5)
        for axis, side in ((self.x_axis, Qt.AlignmentFlag.AlignBottom), (self.y_axis, Qt.AlignmentFlag.AlignLeft)):
            _style_axis(axis)
            chart.addAxis(axis, side)
            self.series.attachAxis(axis)
        self.setMinimumHeight(180)

    def set_days(self, days: list[tuple[str, float]], unit: str) -> None:
        self.bars.remove(0, self.bars.count())
        self.x_axis.clear()
        self.x_axis.append([d for d, _ in days] or [""])
        self.bars.append([v for _, v in days] or [0.0])
        _apply_ticks(self.y_axis, nice_max(max((v for _, v in days), default=0.0)))
        self.y_axis.setTitleText(unit)
