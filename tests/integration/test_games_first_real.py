"""Games first with the real supervisor and a real Petals server on the tiny model.

The GPU is the one boundary this machine cannot reach: NVML is replayed from an RTX 4090 reading, and the node's
server process (really running on the CPU) shows up on it as a compute process holding 20 GiB while it lives.
A game then appears among the card's graphics processes: the server stops, the VRAM is confirmed free, and when the
game ends the node serves again and answers a real client.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.gpus.nvml import GpuReader
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.games_first import GamesFirst
from farnode_desktop.core.settings import Settings
from tests.core.gpus.test_fleet import FIXTURES, LiveNvml
from tests.core.pausing.called_reader import quiet_signals
from tests.integration.test_node_supervised import tiny_spec
from tests.runtime_env import run_generate

pytestmark = [pytest.mark.runtime, pytest.mark.slow]
GIB = 1024**3
GAME_PID = 424242


def test_a_game_pauses_the_real_node_frees_the_vram_and_the_node_comes_back(
        farnode_home: Path, runtime: NodeRuntime, tiny_model: Path) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    spec = tiny_spec(tiny_model, name="gpu0")
    supervisor = make_supervisor(spec, AppPaths.default(), bus, runtime, policy=SupervisorPolicy(stop_grace_s=15))
    nvml = LiveNvml.from_file(FIXTURES / "linux_rtx4090.json")
    assert isinstance(nvml, LiveNvml)
    reader = GpuReader(nvml)
    games_first = GamesFirst(bus, SystemClock(), Settings, reader.inventory, lambda: {0: supervisor},
                             signals=quiet_signals(), pause_after_s=0, resume_after_s=0)
    try:
        supervisor.start()
        assert supervisor.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180) is NodeState.SERVING
        nvml.node_pid = supervisor.status().pid
        free_while_serving = reader.inventory().gpus[0].free_bytes
        games_first.tick()
        assert "gpu.paused" not in log.topics()  # the node's own compute process is not a game

        nvml.set_process(0, "graphics", GAME_PID, "C:\\Games\\ELDEN RING\\Game\\eldenring.exe", 6 * GIB)
        nvml.gpu(0)["utilization"] = {"gpu": 97, "memory": 60}
        games_first.tick()
        assert supervisor.wait_until(lambda s: s is NodeState.PAUSED, 60) is NodeState.PAUSED
        assert supervisor.status().reason == "Game detected: eldenring.exe is using GPU 0"
        assert supervisor.status().pid is None
        deadline = time.monotonic() + 30
        while "gpu.vram_freed" not in log.topics() and time.monotonic() < deadline:
            games_first.tick()
            time.sleep(0.5)
        (freed,) = [e for e in log.events if e.topic == "gpu.vram_freed"]
        assert freed.data["free_bytes"] >= free_while_serving + 20 * GIB  # the node's 20 GiB are back

        nvml.remove_process(0, GAME_PID)
        nvml.gpu(0)["utilization"] = {"gpu": 3, "memory": 1}
        games_first.tick()
        assert supervisor.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180) is NodeState.SERVING
        resumed = [e.reason for e in log.events if e.topic == "gpu.resumed"]
        assert resumed == ["Game or program ended (was: Game detected: eldenring.exe is using GPU 0)"]
        supervisor.wait_until(lambda s: supervisor.status().end_block is not None, 30)
        status = supervisor.status()
        result = run_generate(runtime, str(tiny_model), status.multiaddrs, status.dht_prefix, new_tokens=4)
        assert len(result["tokens"][0]) == 9
    finally:
        supervisor.stop()
        supervisor.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        supervisor.close()
