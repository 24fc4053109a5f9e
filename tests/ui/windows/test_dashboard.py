"""Dashboard window: the ledger's chart and the window bound to its view-model (its cards: test_dashboard_vm)."""

from __future__ import annotations

import time

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.format import count, when
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.conftest import tick_until


def test_the_chart_tooltip_and_peak_agree_with_a_known_workload(core: AppCore, tasks: TaskRunner,
                                                                 qtbot: QtBot) -> None:
    """gpu0 recorded every 5 s at 76 tokens/s (the demo), gpu1 in 60 s periods straddling minute edges at 10
    tokens/s: every whole minute shows 86 tokens/s, and the chart's tokens add up to the ledger's."""
    now = time.time()
    start = now - now % 60 - 900  # a whole minute, 15 min ago
    for i in range(10 * 12):
        at = start + 5 * i
        core.ledger.record_served_work("gpu0", "peer-gpu0", period_start=at, period_end=at + 5, tokens=380, blocks=8)
    for i in range(10):
        at = start + 30 + 60 * i
        core.ledger.record_served_work("gpu1", "peer-gpu1", period_start=at, period_end=at + 60, tokens=600, blocks=8)
    core.ledger.record_served_work("gpu0", "peer-gpu0", period_start=now - 3 * 86400, period_end=now - 3 * 86400 + 60,
                                   tokens=60, blocks=8)  # outside the day
    vm = DashboardViewModel(core, tasks)
    window = DashboardWindow(vm)
    qtbot.addWidget(window)
    with qtbot.waitSignal(vm.chart_changed):
        vm.set_range("day")
    # the chart's minutes end now (its latest minute is the headline's rate): a minute where both nodes served
    # shows 76 + 10, one at either end of the workload only the node that served in it
    assert all(round(b.at - a.at, 6) == 60 for a, b in zip(vm.series, vm.series[1:], strict=False))
    assert {round(p.tokens_per_s, 6) for p in vm.series} <= {76.0, 86.0, 10.0}
    inside = [p for p in vm.series if start + 30 <= p.at and p.at + 60 <= start + 600]
    assert len(inside) >= 8 and all(round(p.tokens_per_s, 6) == 86.0 for p in inside)
    assert vm.peak == pytest.approx(86.0)  # not 12 records of 76 added up (912)
    ledger_total = 120 * 380 + 10 * 600
    assert vm.served_in_range == pytest.approx(ledger_total)
    assert window.chart_note.text() == ("From this PC's ledger, per minute · peak 86 tokens/s · "
                                        f"{ledger_total:,} tokens served in the last day")
    second = inside[0]
    tooltip = window.chart.tooltip_at(second.at * 1000.0 + 20_000)
    assert tooltip == f"{when(second.at, second.at)} · 86 tokens/s · 5,160 tokens served"  # 76 x 60 + 10 x 60


def test_the_window_shows_the_cards_and_follows_snapshots(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = DashboardViewModel(core, tasks)
    controls = TrayViewModel(core, tasks)
    window = DashboardWindow(vm, controls)
    qtbot.addWidget(window)
    vm.on_snapshot(take_snapshot(core))
    assert window.headline.text() == "Stopped" and window.start_stop.text() == "Start serving"
    window.start_stop.click()
    qtbot.waitUntil(lambda: not controls.busy)
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    snap = take_snapshot(core)
    vm.on_snapshot(snap)
    controls.on_snapshot(snap)
    # the headline's rate is the chart's latest minute: what the nodes served since they started serving
    assert window.headline.text() == f"Serving on 2 nodes · {count(snap.tokens_per_s)} tokens/s"
    assert 0 < snap.tokens_per_s <= 1160 * 1.1  # a rate over part of a minute, read a moment apart
    assert window.start_stop.text() == "Stop serving"
    keys = [window.cards_grid.itemAt(i).widget().property("cardKey") for i in range(window.cards_grid.count())]
    assert keys == ["gpu0", "gpu1"]


def test_jargon_on_the_cards_is_explained_where_it_is_shown(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLabel

    vm = DashboardViewModel(core, tasks)
    window = DashboardWindow(vm, TrayViewModel(core, tasks))
    qtbot.addWidget(window)
    core.start_nodes()
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    vm.on_snapshot(take_snapshot(core))
    card = window.cards_grid.itemAt(0).widget()
    named = {w.text(): w for w in card.findChildren(QLabel)}
    assert "network" in named["Peer id"].toolTip() and "DHT" in named["Peer id"].toolTip()
    assert "layers" in named["Blocks"].toolTip()
    values = [w.text() for w in card.findChildren(QLabel) if w.toolTip() == named["Blocks"].toolTip()]
    assert any(v.endswith("blocks)") for v in values), values  # one notation: '0-40 (41 blocks)'
