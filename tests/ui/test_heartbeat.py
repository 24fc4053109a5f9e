"""The heartbeat on a real AppCore (recorded GPUs, scripted nodes): each beat ticks the core on a worker and hands
the GUI thread a whole snapshot; a slow tick is never stacked; a failing tick is reported and the beat goes on."""

from __future__ import annotations

import threading

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.ui.heartbeat import TICK_MS, Heartbeat
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import Snapshot


def test_each_beat_ticks_the_core_and_delivers_a_snapshot(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    beat = Heartbeat(core, tasks, interval_ms=50)
    assert beat.latest.statuses == () and beat.latest.inventory is None and beat.ticks == 0 and TICK_MS == 500
    with qtbot.waitSignal(beat.snapshot, timeout=5000) as first:
        beat.start()  # the first beat at once, not after an interval
    snap = first.args[0]
    assert isinstance(snap, Snapshot) and beat.latest is snap and beat.ticks >= 1
    assert snap.inventory is not None and len(snap.inventory.gpus) == 2
    assert {s.name for s in snap.statuses} == {s.name for s in core.node_statuses()}
    core.start_nodes()
    # only the heartbeat ticks the core here: the scripted nodes reach serving through its ticks alone
    qtbot.waitUntil(lambda: bool(beat.latest.statuses)
                    and all(s.state is NodeState.SERVING for s in beat.latest.statuses), timeout=10_000)
    beat.stop()
    qtbot.waitUntil(lambda: not tasks.busy("heartbeat"))
    stopped_at = beat.ticks
    qtbot.wait(300)
    assert beat.ticks == stopped_at  # stopped: no more beats


def test_a_slow_tick_is_never_stacked(core: AppCore, tasks: TaskRunner, qtbot: QtBot,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    calls: list[int] = []
    real_tick = core.tick

    def slow_tick() -> None:
        calls.append(1)
        release.wait(10)
        real_tick()

    monkeypatch.setattr(core, "tick", slow_tick)
    beat = Heartbeat(core, tasks, interval_ms=20)
    beat.start()
    qtbot.wait(300)  # ~15 intervals while the first tick hangs
    assert calls == [1] and beat.ticks == 0
    beat.stop()
    release.set()
    qtbot.waitUntil(lambda: beat.ticks == 1)


def test_a_failing_tick_is_reported_and_the_beat_goes_on(core: AppCore, tasks: TaskRunner, qtbot: QtBot,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real_tick = core.tick
    failures = iter([RuntimeError("NVML went away")])

    def tick() -> None:
        fault = next(failures, None)
        if fault is not None:
            raise fault
        real_tick()

    monkeypatch.setattr(core, "tick", tick)
    beat = Heartbeat(core, tasks, interval_ms=50)
    with qtbot.waitSignal(tasks.failed, timeout=5000) as failed:
        beat.start()
    assert str(failed.args[0]) == "NVML went away" and beat.ticks == 0
    qtbot.waitUntil(lambda: beat.ticks >= 2, timeout=5000)
    beat.stop()
