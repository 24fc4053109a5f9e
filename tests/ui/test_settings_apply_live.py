"""Applying a setting that restarts nodes, in the real Qt event loop: real supervisors over the scripted OS, whose
server takes its time to stop. The GUI thread keeps handling events, the heartbeat keeps the dashboard current
(it shows the nodes stopping), and the settings window hears back before the stop is over."""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.ui.heartbeat import Heartbeat
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.viewmodels.tray_vm import TrayState
from tests.core.node.fake_os import FakeHost, FakeProbe
from tests.ui.fakes import BIG_MODEL, FIXTURES

SLOW_STOP_S = 2.0  # the server ignores SIGINT: the supervisor sends SIGTERM after this grace period
POLICY = SupervisorPolicy(stop_grace_s=SLOW_STOP_S, term_grace_s=1.0, kill_grace_s=1.0, probe_interval_s=0.05,
                          watchdog_interval_s=0.1, watchdog_timeout_s=30)


def slow_stopping_core(home: Path) -> tuple[AppCore, FakeHost, list[NodeSupervisor]]:
    paths = AppPaths.under(home).ensure()
    SettingsStore(paths.config_file).save(Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=True))
    bus = EventBus()
    host = FakeHost()
    host.on_launch = lambda proc: proc.ignores.add(signal.SIGINT)
    made: list[NodeSupervisor] = []

    def factory(spec: NodeSpec) -> NodeSupervisor:
        probe = FakeProbe()
        probe.body = {"state": "serving", "peer_id": f"Qm{spec.name}", "start_block": 0, "end_block": 8,
                      "blocks": list(range(8)), "served_tokens": 0, "requests": {}}
        sup = NodeSupervisor(spec, paths, bus, NativeBackend(Path("/rt/bin/python"), Path("/app")), host=host,
                             probe=probe, policy=POLICY)
        made.append(sup)
        return sup

    core = AppCore(paths, bus=bus, nvml=FakeNvml.from_file(FIXTURES / "linux_rtx4090_rtx3060.json"),
                   supervisor_factory=factory, sample_gpus=False)
    return core, host, made


def test_the_gui_and_the_dashboard_stay_live_while_a_slow_node_stops(tmp_path: Path, qtbot: QtBot) -> None:
    core, host, made = slow_stopping_core(tmp_path / "home")
    tasks = TaskRunner()
    core.start()
    heartbeat = Heartbeat(core, tasks, interval_ms=50)
    dashboard = DashboardViewModel(core, tasks)
    heartbeat.snapshot.connect(dashboard.on_snapshot)
    seen: list[set[str]] = []
    dashboard.cards_changed.connect(lambda: seen.append({c.state_text for c in dashboard.cards}))
    heartbeat.start()
    try:
        qtbot.waitUntil(lambda: dashboard.state is TrayState.SERVING and len(made) == 2, timeout=10_000)
        old = list(made)

        beats: list[float] = []  # the GUI thread's own timer: when it fired
        gui = QTimer()
        gui.setInterval(20)
        gui.timeout.connect(lambda: beats.append(time.monotonic()))
        gui.start()

        settings = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                                      config_home=tmp_path / "xdg"))
        settings.draft.public_name = "farm-7"
        began = time.monotonic()
        with qtbot.waitSignal(settings.applied, timeout=SLOW_STOP_S * 1000) as saved:
            settings.apply()
        answered = time.monotonic() - began
        assert saved.args == ["Saved. Restarting gpu0, gpu1 to apply the change."]
        assert answered < SLOW_STOP_S / 2  # saved while the old servers are still stopping
        assert all(s.status().state is NodeState.STOPPING for s in old)

        qtbot.waitUntil(lambda: len(made) == 4 and all(s.status().state is NodeState.SERVING for s in made[2:]),
                        timeout=int(SLOW_STOP_S * 1000) + 8000)
        stop_took = time.monotonic() - began
        gui.stop()
        assert stop_took >= SLOW_STOP_S  # the stop really was slow ...
        assert {"Stopping"} in seen  # ... and the dashboard showed it happen, snapshot by snapshot
        gaps = [b - a for a, b in itertools.pairwise(beats)]
        assert len(beats) >= stop_took / 0.02 / 3  # the GUI thread kept handling its timer all along
        assert max(gaps) < 0.5, f"the GUI thread stalled for {max(gaps):.2f} s"
        assert [s.spec.public_name for s in made[2:]] == ["farm-7", "farm-7"]
        assert all(p.code == -signal.SIGTERM for p in host.launched[:2])  # SIGINT ignored, SIGTERM ended them
    finally:
        heartbeat.stop()
        tasks.close()
        core.shutdown(timeout_s=10)
