"""The charts, real widgets offscreen: what the served-tokens chart keeps in its window, its axis and hover text,
and the daily earnings bars."""

from __future__ import annotations

import pytest
from PySide6.QtCharts import QValueAxis
from pytestqt.qtbot import QtBot

from farnode_desktop.core.earnings.served_work import MinutePoint
from farnode_desktop.ui.windows.charts import DailyEarningsChart, ThroughputChart, axis_ticks, nice_max

NOW = 1_790_000_000.0


def labels(axis: QValueAxis) -> list[str]:
    """The value axis's labels as Qt writes them (printf format, evenly spaced ticks)."""
    n = axis.tickCount()
    return [axis.labelFormat() % (axis.min() + (axis.max() - axis.min()) * i / (n - 1)) for i in range(n)]


@pytest.mark.parametrize("peak", [0, 0.0004, 0.003, 0.01, 0.02, 0.04, 0.25, 0.5, 0.9, 1, 1.7, 2.2, 3, 4, 9, 12,
                                  42, 250, 850, 1160, 4100, 123_456])
def test_axis_labels_never_repeat(peak: float) -> None:
    """The issue saw '0.01, 0.01, 0.01': every label of an axis is now a different, exact value."""
    top = nice_max(peak)
    count, decimals = axis_ticks(top)
    shown = [f"{top * i / (count - 1):.{decimals}f}" for i in range(count)]
    assert len(set(shown)) == count >= 3, shown
    assert all(abs(float(t) - top * i / (count - 1)) < 1e-9 * max(1.0, top) for i, t in enumerate(shown))


@pytest.mark.parametrize(("value", "top"), [
    (-1, 1.0), (0, 1.0), (0.04, 0.05), (0.25, 0.5), (0.5, 1.0), (0.9, 2.0), (3, 5.0), (8, 10.0), (9, 20.0),
    (42, 50.0), (100, 200.0),
    (850, 1000.0), (1160, 2000.0), (2000, 2500.0), (4100, 5000.0),
])
def test_the_axis_top_is_a_round_number_above_the_peak(value: float, top: float) -> None:
    assert nice_max(value) == top
    assert value <= 0 or nice_max(value) >= value * 1.15


def test_the_throughput_chart_shows_the_last_hour_and_describes_a_minute(qtbot: QtBot) -> None:
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    assert chart.shown == [] and chart.tooltip_at(NOW * 1000) == "" and chart.y_axis.max() == 1.0
    assert labels(chart.y_axis) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]  # not 0, 0, 0, 1, 1
    points = [MinutePoint(NOW - 7200, 50.0, 3000), MinutePoint(NOW - 1800, 850.0, 51_000),
              MinutePoint(NOW - 60, 1160.0, 69_600), MinutePoint(NOW + 60, 9999.0, 1)]
    chart.set_points(points, 3600.0, now=NOW)
    assert chart.shown == points[1:3]  # two hours ago and the future are outside the hour
    assert [(p.x(), p.y()) for p in chart.line.points()] == [((NOW - 1800) * 1000, 850.0), ((NOW - 60) * 1000, 1160.0)]
    assert all(p.y() == 0.0 for p in chart.base.points())
    assert (chart.y_axis.min(), chart.y_axis.max()) == (0.0, 2000.0)
    assert labels(chart.y_axis) == ["0", "500", "1000", "1500", "2000"]
    assert chart.x_axis.min().toMSecsSinceEpoch() == (NOW - 3600) * 1000
    assert chart.x_axis.max().toMSecsSinceEpoch() == NOW * 1000
    assert chart.tooltip_at((NOW - 1700) * 1000) == "850 tokens/s"
    assert chart.tooltip_at((NOW + 999) * 1000) == "1,160 tokens/s"
    chart.set_points(points, 86_400.0, now=NOW, describe=lambda p: f"{p.tokens:,.0f} tokens")
    assert len(chart.shown) == 3 and chart.x_axis.tickCount() == 9
    assert chart.tooltip_at((NOW - 7000) * 1000) == "3,000 tokens"
    chart.show()
    qtbot.waitExposed(chart)
    assert chart.y_axis.max() == 2000.0  # re-laid out on show, same range


def test_the_daily_earnings_chart_shows_a_bar_per_day(qtbot: QtBot) -> None:
    chart = DailyEarningsChart()
    qtbot.addWidget(chart)
    chart.set_days([("Nov 20", 0.25), ("Nov 21", 0.0), ("Nov 22", 0.62)], "FAR")
    assert chart.x_axis.categories() == ["Nov 20", "Nov 21", "Nov 22"]
    assert [chart.bars.at(i) for i in range(chart.bars.count())] == [0.25, 0.0, 0.62]
    assert chart.y_axis.max() == 1.0 and chart.y_axis.titleText() == "FAR"
    chart.set_days([("Nov 22", 12.5)], "FAR")  # replaced, not added to
    assert chart.x_axis.categories() == ["Nov 22"] and chart.bars.count() == 1
    assert chart.y_axis.max() == 20.0 and chart.y_axis.labelFormat() == "%.0f"  # 0, 5, 10, 15, 20
    chart.set_days([("Nov 23", 0.25)], "FAR")  # a small day keeps its own scale: 0, 0.1, ... 0.5 (not 0-1)
    assert chart.y_axis.max() == 0.5 and chart.y_axis.labelFormat() == "%.1f" and chart.y_axis.tickCount() == 6
    assert labels(chart.y_axis) == ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"]
    chart.set_days([], "FAR")  # no history yet: one empty bar, not a broken axis
    assert chart.x_axis.categories() == [""] and chart.bars.count() == 1 and chart.bars.at(0) == 0.0
