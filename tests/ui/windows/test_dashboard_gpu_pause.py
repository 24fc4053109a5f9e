"""A GPU card's own pause: the dashboard pauses and resumes one GPU's node of a real AppCore (scripted nodes),
the other GPU keeps serving, and the card says until when and offers Resume."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.pausing.rules import PAUSE_LENGTHS, Snooze, pause_length
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel, NodeCard, PauseControl, build_cards
from farnode_desktop.ui.viewmodels.format import when
from farnode_desktop.ui.viewmodels.tray_vm import PAUSE_CHOICES
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.conftest import tick_until


def states(core: AppCore) -> dict[str, NodeState]:
    return {s.name: s.state for s in core.node_statuses()}


def control(vm: DashboardViewModel, key: str) -> PauseControl:
    card: NodeCard = next(c for c in vm.cards if c.key == key)
    assert card.pause is not None
    return card.pause


def serving(core: AppCore, qtbot: QtBot, vm: DashboardViewModel) -> None:
    core.start_nodes()
    tick_until(core, qtbot, lambda: set(states(core).values()) == {NodeState.SERVING})
    vm.on_snapshot(take_snapshot(core))


def test_pausing_gpu_1_pauses_only_its_node_until_resumed(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = DashboardViewModel(core, tasks)
    vm.on_snapshot(take_snapshot(core))
    stopped = control(vm, "gpu1")
    assert stopped.button_text == "Pause this GPU" and not stopped.enabled  # a stopped node has nothing to pause

    serving(core, qtbot, vm)
    gpu1 = control(vm, "gpu1")
    assert gpu1.enabled and gpu1.paused_until is None and gpu1.note == ""
    assert dict(gpu1.choices) == {  # what each pause costs GPU 1 alone, at its 310 tokens/s
        "30m": "Pause for 30 min  (≈ 558 k served tokens)",
        "1h": "Pause for 1 h  (≈ 1.1 M served tokens)",
        "2h": "Pause for 2 h  (≈ 2.2 M served tokens)",
        "until_resume": "Pause until I resume  (≈ 1.1 M served tokens per hour)",
    }
    assert dict(control(vm, "gpu0").choices)["2h"] == "Pause for 2 h  (≈ 6.1 M served tokens)"  # 850 tokens/s

    before = time.time()
    vm.pause_gpu(1, "2h")
    assert control(vm, "gpu1").button_text == "Pausing…" and not control(vm, "gpu1").enabled
    qtbot.waitUntil(lambda: not vm.busy_gpus)
    assert states(core) == {"gpu0": NodeState.SERVING, "gpu1": NodeState.PAUSED}
    [(gpu, until)] = core.snoozed_gpus().items()
    assert gpu == 1 and before + 7200 <= until <= time.time() + 7200
    paused = control(vm, "gpu1")
    assert paused.button_text == "Resume GPU 1" and paused.enabled and paused.paused_until == until
    assert paused.note == f"Paused by you until {when(until)}"
    assert control(vm, "gpu0").button_text == "Pause this GPU"

    for _ in range(5):  # games first and the ticks leave the provider's pause alone
        core.tick()
    assert states(core) == {"gpu0": NodeState.SERVING, "gpu1": NodeState.PAUSED}

    vm.resume_gpu(1)
    qtbot.waitUntil(lambda: not vm.busy_gpus)
    assert core.snoozed_gpus() == {}
    tick_until(core, qtbot, lambda: states(core)["gpu1"] is NodeState.SERVING)
    vm.on_snapshot(take_snapshot(core))
    assert control(vm, "gpu1").button_text == "Pause this GPU" and control(vm, "gpu1").note == ""


# The offscreen platform cannot grab the keyboard for a popup menu (a desktop can); this marker replaces
# the conftest one, so it repeats its two harmless offscreen messages.
@pytest.mark.qt_log_ignore("does not support grabbing the keyboard", "propagateSizeHints", "does not support raise")
def test_the_card_button_and_menu_pause_and_resume_one_gpu(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = DashboardViewModel(core, tasks)
    window = DashboardWindow(vm)
    qtbot.addWidget(window)
    window.show()
    serving(core, qtbot, vm)

    def button(gpu: int) -> QPushButton:
        found = [b for b in window.cards_host.findChildren(QPushButton) if b.property("gpuPause") == gpu]
        assert len(found) == 1
        return found[0]

    assert button(1).text() == "Pause this GPU"
    button(1).click()
    menu = window.pause_menus[1]
    qtbot.waitUntil(menu.isVisible)
    labels = [a.text() for a in menu.actions()]
    assert labels[3] == "Pause until I resume  (≈ 1.1 M served tokens per hour)"
    menu.actions()[3].trigger()
    menu.hide()
    qtbot.waitUntil(lambda: not vm.busy_gpus)
    assert states(core) == {"gpu0": NodeState.SERVING, "gpu1": NodeState.PAUSED}
    assert core.snoozed_gpus() == {1: float("inf")}
    assert button(1).text() == "Resume GPU 1" and button(0).text() == "Pause this GPU"
    card1 = next(c for c in vm.cards if c.key == "gpu1")
    assert card1.pause is not None and card1.pause.note == "Paused by you until you resume it"

    button(1).click()
    qtbot.waitUntil(lambda: not vm.busy_gpus)
    assert core.snoozed_gpus() == {}
    tick_until(core, qtbot, lambda: states(core)["gpu1"] is NodeState.SERVING)
    vm.on_snapshot(take_snapshot(core))
    assert button(1).text() == "Pause this GPU"


def test_a_pause_the_core_refuses_is_reported_and_frees_the_card(core: AppCore, tasks: TaskRunner,
                                                                   qtbot: QtBot) -> None:
    vm = DashboardViewModel(core, tasks)
    serving(core, qtbot, vm)
    with qtbot.waitSignal(tasks.failed) as failure:
        vm.pause_gpu(7, "1h")  # no node on GPU 7
    error = failure.args[0] if failure.args else None
    assert isinstance(error, FarNodeError) and "GPU 7" in str(error)
    assert vm.busy_gpus == {} and core.snoozed_gpus() == {}
    assert set(states(core).values()) == {NodeState.SERVING}
    with pytest.raises(ValueError, match="unknown pause length"):
        vm.pause_gpu(1, "3h")


def test_the_cpu_node_and_a_gpu_without_a_node_get_no_pause_button(core: AppCore) -> None:
    snap = take_snapshot(core)
    cpu = NodeStatus(name="cpu", state=NodeState.SERVING, reason="serving", tokens_per_s=4.0)
    cards = build_cards((cpu,), snap.inventory, snap.at)  # the GPUs' nodes are left out here
    assert [(c.key, c.pause) for c in cards] == [("gpu0", None), ("gpu1", None), ("cpu", None)]


def test_one_table_of_pause_lengths_for_the_core_the_tray_and_the_cards() -> None:
    assert [(c.key, c.seconds) for c in PAUSE_CHOICES] == [(p.key, p.seconds) for p in PAUSE_LENGTHS]
    assert pause_length("2h") is pause_length("2 h") and Snooze.CHOICES["2 h"] == 7200.0
    assert pause_length("until_resume").reason == "paused by you until you resume"
