"""The dashboard's view-model: a card per GPU with its readings and its node's facts, and cards for lost GPUs and a
CPU node (the window bound to it: tests/ui/windows/test_dashboard.py)."""

from __future__ import annotations

import time

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.gpus.nvml import GpuInventory, LostGpu
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import build_cards
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


def test_a_serving_node_without_requests_says_so_on_its_card_and_in_the_header(core: AppCore) -> None:
    from farnode_desktop.ui.tasks import TaskRunner
    from farnode_desktop.ui.viewmodels.core_api import Snapshot
    from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel

    quiet = NodeStatus("cpu", NodeState.SERVING, "serving blocks 0-3 of tiny", start_block=0, end_block=4,
                       no_requests_for_s=7 * 60 + 50)
    (card,) = build_cards((quiet,), None, time.time())
    assert card.state_text == "Serving — no requests for 7 min" and card.state == "serving, no requests"
    assert "earns nothing" in card.hint  # what it means for the provider, in words
    runner = TaskRunner()
    try:
        vm = DashboardViewModel(core, runner)
        vm.on_snapshot(Snapshot((quiet,)))
        assert vm.state_text == "Serving — no requests for 7 min"
        assert vm.headline == "Serving on 1 node · 0 tokens/s"
        vm.on_snapshot(Snapshot((NodeStatus("cpu", NodeState.SERVING, "serving", no_requests_for_s=3.0),)))
        assert vm.state_text == "Serving" and vm.cards[0].state_text == "Serving"
    finally:
        runner.close()
