"""Dashboard: cards from recorded GPU readings and node statuses, the ledger's chart, and the window bound to them."""

from __future__ import annotations

import time

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.gpu import GpuInventory, LostGpu
from farnode_desktop.core.node_status import NodeState, NodeStatus
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel, build_cards, merge_nodes
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.conftest import tick_until


def test_a_card_per_gpu_with_readings_and_its_node(core: AppCore, qtbot: QtBot) -> None:
    core.start_nodes()
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    snap = take_snapshot(core)
    cards = build_cards(snap.statuses, snap.inventory, snap.at)
    assert [c.title for c in cards] == ["GPU 0 · GeForce RTX 4090", "GPU 1 · GeForce RTX 3060"]
    first = cards[0]
    assert first.subtitle == "24.0 GiB VRAM" and first.live and first.state == "serving"
    readings = {r.label: r.value for r in first.readings}
    assert readings == {"VRAM": "0.5 / 24.0 GiB", "Load": "2 %", "Temp": "38 °C", "Power": "19 / 450 W"}
    facts = dict(first.facts)
    assert facts["Served"] == "850 tokens/s" and facts["Peer id"].startswith("12D3Ko")
    assert facts["Blocks"].startswith("0-")
    assert first.reason.startswith("serving blocks 0-")


def test_lost_gpus_and_a_cpu_node_get_cards_too() -> None:
    inventory = GpuInventory(lost=(LostGpu(1, "GPU-x", "RTX 3060", "GPU is lost"),), read_at=time.time())
    cpu = NodeStatus(name="cpu", state=NodeState.BACKOFF, reason="the server exited", retry_in_s=4.0)
    cards = build_cards((cpu,), inventory, time.time())
    assert [(c.title, c.state, c.state_text) for c in cards] == [
        ("GPU 1 · RTX 3060", "needs attention", "GPU lost"),
        ("CPU node", "needs attention", "Restarting in 4 s"),
    ]


def test_the_chart_adds_up_nodes_per_minute_from_the_ledger(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    now = time.time()
    start = now - now % 60 - 600
    for node, tokens in (("gpu0", 6000), ("gpu1", 3000)):
        core.ledger.record_served_work(node, f"peer-{node}", period_start=start, period_end=start + 60,
                                       tokens=tokens, blocks=8)
    core.ledger.record_served_work("gpu0", "peer-gpu0", period_start=now - 3 * 86400, period_end=now - 3 * 86400 + 60,
                                   tokens=60, blocks=8)  # outside the day
    vm = DashboardViewModel(core, tasks)
    with qtbot.waitSignal(vm.chart_changed):
        vm.set_range("day")
    assert vm.series == [(start + 60, 150.0)]  # (6000 + 3000) / 60 s in the same minute
    assert merge_nodes([(60.0, 1.0), (61.0, 2.0), (130.0, 5.0)]) == [(60.0, 3.0), (120.0, 5.0)]


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
    assert window.headline.text() == "Serving on 2 nodes · 1,160 tokens/s"
    assert window.start_stop.text() == "Stop serving"
    keys = [window.cards_grid.itemAt(i).widget().property("cardKey") for i in range(window.cards_grid.count())]
    assert keys == ["gpu0", "gpu1"]
