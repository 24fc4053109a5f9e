"""The tray's view-model: one state for the PC, the tooltip, pause costs, notifications, and its actions
driving a real AppCore (on recorded GPU readings, with scripted nodes)."""

from __future__ import annotations

import math

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.pausing.rules import PAUSE_LENGTHS
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.tray import Tray
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.tray_vm import (
    PAUSE_CHOICES,
    Notice,
    TrayState,
    TrayViewModel,
    notice_for,
    overall_state,
)
from tests.ui.conftest import tick_until


def st(state: NodeState, name: str = "gpu0") -> NodeStatus:
    return NodeStatus(name=name, state=state, reason="")


def test_the_pc_state_puts_attention_first_then_serving_starting_paused() -> None:
    assert overall_state([]) is TrayState.STOPPED
    assert overall_state([st(NodeState.SERVING), st(NodeState.FAILED, "gpu1")]) is TrayState.ATTENTION
    assert overall_state([st(NodeState.BACKOFF)]) is TrayState.ATTENTION
    assert overall_state([st(NodeState.SERVING), st(NodeState.PAUSED, "gpu1")]) is TrayState.SERVING
    assert overall_state([st(NodeState.LOADING), st(NodeState.PAUSED, "gpu1")]) is TrayState.STARTING
    assert overall_state([st(NodeState.PROVISIONING)]) is TrayState.STARTING
    assert overall_state([st(NodeState.PAUSED), st(NodeState.STOPPED, "gpu1")]) is TrayState.PAUSED
    assert overall_state([st(NodeState.STOPPING)]) is TrayState.STOPPED


def test_notifications_only_for_changes_that_matter() -> None:
    serving = notice_for(Event("node.state", "gpu0", "serving blocks 0-8",
                               {"state": "serving", "previous": "loading blocks"}))
    assert serving is not None and serving.title == "Serving" and "blocks 0-8" in serving.message
    failed = notice_for(Event("node.state", "gpu1", "out of GPU memory", {"state": "failed", "hint": "lower the blocks"}))
    assert failed is not None and failed.level == "critical" and "lower the blocks" in failed.message
    paused = notice_for(Event("gpu.paused", "gpu0", "Cyberpunk2077.exe is using the GPU"))
    assert paused is not None and "Cyberpunk2077.exe" in paused.message
    resumed = notice_for(Event("gpu.resumed", "all", "resumed by you"))
    assert resumed is not None and resumed.message.startswith("All GPUs")
    on_cpu = notice_for(Event("gpu.resumed", "all", "resumed by you"), gpus=False)  # the demo on a PC without GPU
    assert on_cpu is not None and on_cpu.message == "The node: resumed by you" and "GPU" not in on_cpu.message
    payout = notice_for(Event("payout.confirmed", "wallet", "payout confirmed on chain in block 12",
                              {"tx_hash": "0x" + "ab" * 32}))
    assert payout is not None and "block 12" in payout.message and "0xabababab" in payout.message
    for quiet in (Event("gpu.telemetry", "gpus", "sample"), Event("claim.signed", "wallet", "signed"),
                  Event("node.state", "gpu0", "loading", {"state": "loading blocks", "previous": "starting"})):
        assert notice_for(quiet) is None


def test_start_pause_resume_stop_from_the_tray(qtbot: QtBot, core: AppCore, tasks: TaskRunner) -> None:
    vm = TrayViewModel(core, tasks)
    notices: list[object] = []
    vm.notify.connect(notices.append)
    core.bus.subscribe(vm.on_event)  # (the app goes through the bridge; here the GUI thread ticks)
    vm.on_snapshot(take_snapshot(core))
    assert vm.state is TrayState.STOPPED and vm.start_stop_label == "Start serving"
    assert all(vm.pause_label(c) == c.label for c in PAUSE_CHOICES)  # nothing served: no cost to show

    vm.start_stop()
    qtbot.waitUntil(lambda: not vm.busy)
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    vm.on_snapshot(take_snapshot(core))
    assert vm.state is TrayState.SERVING and vm.start_stop_label == "Stop serving"
    assert "Serving 1,160 tokens/s" in vm.tooltip  # 850 + 310 from the two scripted nodes
    two_hours = next(c for c in PAUSE_CHOICES if c.key == "2h")
    assert vm.pause_label(two_hours) == "Pause for 2 h  (≈ 8.4 M served tokens)"  # 1160 x 7200
    assert [n.title for n in notices].count("Serving") == 2  # type: ignore[attr-defined]

    vm.pause(two_hours)
    qtbot.waitUntil(lambda: not vm.busy)
    assert {s.state for s in core.node_statuses()} == {NodeState.PAUSED}
    vm.on_snapshot(take_snapshot(core))
    assert vm.state is TrayState.PAUSED and vm.snoozed
    assert any(n.title == "Paused" for n in notices)  # type: ignore[attr-defined]

    vm.resume()
    qtbot.waitUntil(lambda: not vm.busy)
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    vm.on_snapshot(take_snapshot(core))
    assert not vm.snoozed and vm.state is TrayState.SERVING

    vm.start_stop()
    qtbot.waitUntil(lambda: not vm.busy)
    vm.on_snapshot(take_snapshot(core))
    assert vm.state is TrayState.STOPPED


def test_a_failed_node_turns_the_tray_red_and_explains(qtbot: QtBot, core: AppCore, tasks: TaskRunner) -> None:
    vm = TrayViewModel(core, tasks)
    notices: list[object] = []
    vm.notify.connect(notices.append)
    core.bus.subscribe(vm.on_event)
    core.start_nodes()
    core.scripted[1].fail("CUDA out of memory while loading block 20", "lower the blocks in Settings")  # type: ignore[attr-defined]
    vm.on_snapshot(take_snapshot(core))
    assert vm.state is TrayState.ATTENTION
    failed = [n for n in notices if n.level == "critical"]  # type: ignore[attr-defined]
    assert failed and "lower the blocks in Settings" in failed[0].message  # type: ignore[attr-defined]


def test_failed_nodes_say_when_they_try_again_by_itself_or_that_they_will_not(qtbot: QtBot, core: AppCore,
                                                                               tasks: TaskRunner) -> None:
    from farnode_desktop.core.node.status import next_try
    from farnode_desktop.ui.viewmodels.core_api import Snapshot
    from farnode_desktop.ui.viewmodels.dashboard_vm import build_cards

    backoff = NodeStatus("gpu0", NodeState.BACKOFF, "the server exited unexpectedly; restarting in 4 s", retry_in_s=3.6)
    cooling = NodeStatus("gpu1", NodeState.FAILED, "the server failed 5 times in 10 minutes", retry_in_s=545.0,
                         updated_at=1000.0)
    for_good = NodeStatus("gpu2", NodeState.FAILED, "This model is not supported by the node runtime.")
    cards = {c.key: c.state_text for c in build_cards((backoff, cooling, for_good), None, 1000.0)}
    assert cards == {"gpu0": "Restarting in 4 s", "gpu1": "Failed · trying again by itself in 10 min",
                     "gpu2": "Failed · it will not try again by itself"}
    assert next_try(cooling, now=1000.0 + 300) == "trying again by itself in 5 min"  # `node status` counts down
    assert next_try(cooling, now=1000.0 + 600) == "trying again by itself now"
    assert next_try(NodeStatus("gpu3", NodeState.FAILED, "", retry_in_s=3600.0)) == "trying again by itself in 1 h"

    vm = TrayViewModel(core, tasks)
    vm.on_snapshot(Snapshot((backoff, cooling, for_good)))
    assert vm.state is TrayState.ATTENTION
    assert vm.tooltip.splitlines()[2:] == ["gpu0: backoff, restarting in 4 s",
                                           "gpu1: failed, trying again by itself in 10 min",
                                           "gpu2: failed, it will not try again by itself"]

    heals = notice_for(Event("node.state", "gpu1", "The GPU ran out of memory while loading blocks.",
                             {"state": "failed", "hint": "lower the blocks", "retry_in_s": 600.0}))
    never = notice_for(Event("node.state", "gpu2", "This model is not supported by the node runtime.",
                             {"state": "failed", "hint": "Pick a model from the catalog", "retry_in_s": None}))
    assert heals is not None and heals.message.endswith("\nTrying again by itself in 10 min.")
    assert never is not None and never.message.endswith("\nIt will not try again by itself.")


def test_the_tray_pause_menu_is_built_from_the_one_table_of_pause_lengths(qtbot: QtBot, core: AppCore,
                                                                         tasks: TaskRunner) -> None:
    """Each entry of the tray's pause menu is a row of rules.PAUSE_LENGTHS, and choosing it pauses for that length."""
    vm = TrayViewModel(core, tasks)
    tray = Tray(vm, lambda name: None, lambda: None)
    assert [a.text() for a in tray.pause_menu.actions()] == [p.menu_text for p in PAUSE_LENGTHS]  # nothing served
    assert list(tray.pause_actions) == [p.key for p in PAUSE_LENGTHS]
    for length in PAUSE_LENGTHS:
        before = core.clock.wall()
        tray.pause_actions[length.key].trigger()
        qtbot.waitUntil(lambda: not vm.busy)
        snooze = core.pauses.whole(core.clock.wall())
        assert snooze is not None and snooze.reason == length.reason
        if length.seconds is None:
            assert snooze.ends_at == math.inf
        else:
            assert before + length.seconds <= snooze.ends_at <= core.clock.wall() + length.seconds
        vm.resume()
        qtbot.waitUntil(lambda: not vm.busy)
        assert core.pauses.whole(core.clock.wall()) is None


def test_serving_without_requests_is_its_own_state_with_how_long(qtbot: QtBot, core: AppCore,
                                                                   tasks: TaskRunner) -> None:
    from farnode_desktop.ui.viewmodels.core_api import Snapshot

    quiet = NodeStatus("cpu", NodeState.SERVING, "serving blocks 0-3 of tiny", no_requests_for_s=470.0)
    busy = NodeStatus("gpu0", NodeState.SERVING, "serving blocks 0-11", no_requests_for_s=4.0, tokens_per_s=850.0)
    just_quiet = NodeStatus("gpu1", NodeState.SERVING, "serving", no_requests_for_s=299.0)
    assert overall_state([quiet]) is TrayState.NO_REQUESTS
    assert overall_state([just_quiet]) is TrayState.SERVING  # under the threshold (5 min)
    assert overall_state([quiet, busy]) is TrayState.SERVING  # one node gets work: the PC serves
    assert overall_state([quiet, st(NodeState.FAILED, "gpu1")]) is TrayState.ATTENTION

    vm = TrayViewModel(core, tasks)
    changes: list[None] = []
    vm.changed.connect(lambda: changes.append(None))
    vm.on_snapshot(Snapshot((quiet,)))
    assert vm.state is TrayState.NO_REQUESTS and changes
    assert vm.tooltip.splitlines()[0] == "FarNode: serving — no requests for 7 min"
    vm.on_snapshot(Snapshot((quiet, busy)))
    assert vm.state is TrayState.SERVING
    assert vm.tooltip.splitlines()[0] == "FarNode: serving" and "cpu: no requests for 7 min" in vm.tooltip
    vm.on_snapshot(Snapshot((NodeStatus("cpu", NodeState.SERVING, "serving", no_requests_for_s=1.0),)))
    assert vm.state is TrayState.SERVING and "no requests" not in vm.tooltip


def test_a_pc_serving_on_the_cpu_gets_no_gpu_words(core: AppCore, tasks: TaskRunner) -> None:
    vm = TrayViewModel(core, tasks)
    vm.statuses = [NodeStatus("cpu", NodeState.SERVING, "serving blocks 0-3 of tiny")]
    seen: list[Notice] = []
    vm.notify.connect(seen.append)
    vm.on_event(Event("gpu.paused", "all", "paused by you"))
    vm.statuses = [NodeStatus("gpu0", NodeState.SERVING, "serving blocks 0-3")]
    vm.on_event(Event("gpu.paused", "all", "paused by you"))
    assert [n.message for n in seen] == ["The node: paused by you", "All GPUs: paused by you"]
