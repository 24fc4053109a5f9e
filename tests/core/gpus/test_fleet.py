"""The fleet: a node per eligible GPU, left-out GPUs, a lost GPU, and games-first with the real supervisor."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.events import Event, EventBus, EventLog
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import Fleet, FleetOptions, Supervisor, build_specs
from farnode_desktop.core.gpus.nvml import GIB, GpuReader, read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.host import LaunchCommand, minimal_env
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.supervisor import NodeState, NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.games_first import GamesFirst
from farnode_desktop.core.settings import Settings
from tests.core.node.fake_os import FakeProbe
from tests.core.pausing.called_reader import quiet_signals

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
CATALOG = Catalog.load()
LLAMA70 = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")


def eligibility(fixture: str, settings: Settings) -> Any:
    inv = read_inventory(FakeNvml.from_file(FIXTURES / f"{fixture}.json"))
    return assess(inv, LLAMA70, settings)


def test_one_spec_per_eligible_gpu() -> None:
    settings = Settings(
        model=LLAMA70.name, initial_peers=["/ip4/1.2.3.4/tcp/31337/p2p/QmPeer"], public_name="ana"
    )
    specs = build_specs(
        eligibility("linux_rtx4090_rtx3060", settings), LLAMA70, settings, FleetOptions(base_port=31330)
    )
    assert [(s.name, s.cuda_visible_devices, s.device, s.port) for s in specs] == [
        ("gpu0", "0", "cuda", 31330),
        ("gpu1", "1", "cuda", 31331),
    ]
    assert [s.num_blocks for s in specs] == [41, 17]
    g0 = specs[0]
    assert (g0.model, g0.torch_dtype, g0.quant_type, g0.attn_cache_tokens) == (
        LLAMA70.name,
        "float16",
        "nf4",
        16384,
    )
    assert g0.initial_peers == settings.initial_peers and g0.public_name == "ana"
    args = g0.petals_args(Path("/x/identity.key"))
    assert args[args.index("--num_blocks") + 1] == "41" and args[args.index("--quant_type") + 1] == "nf4"


def test_left_out_gpu_gets_no_node_and_blocks_setting_is_capped() -> None:
    inv = read_inventory(FakeNvml.from_file(FIXTURES / "linux_rtx4090_rtx3060.json"))
    settings = Settings(excluded_gpus=[inv.gpus[0].uuid], blocks=30)
    specs = build_specs(assess(inv, LLAMA70, settings), LLAMA70, settings, FleetOptions())
    assert [(s.name, s.num_blocks, s.port) for s in specs] == [("gpu1", 17, 0)]


def test_no_gpu_and_a_cpu_model_gives_one_cpu_node() -> None:
    tiny = CATALOG.get("farlabs/tiny-demo")
    inv = read_inventory(FakeNvml.from_file(FIXTURES / "no_driver.json"))
    settings = Settings()
    specs = build_specs(
        assess(inv, tiny, settings),
        tiny,
        settings,
        FleetOptions(model_source="/data/tiny", dht_prefix="tiny-demo"),
    )
    assert [
        (s.name, s.device, s.cuda_visible_devices, s.num_blocks, s.torch_dtype, s.quant_type) for s in specs
    ] == [("cpu", "cpu", None, 4, "float32", None)]
    assert specs[0].model == "/data/tiny" and specs[0].dht_prefix == "tiny-demo"
    assert build_specs(assess(inv, LLAMA70, settings), LLAMA70, settings, FleetOptions()) == []


class FakeSupervisor:
    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def pause(self, reason: str) -> None:
        self.calls.append(f"pause: {reason}")

    def resume(self, reason: str) -> None:
        self.calls.append(f"resume: {reason}")

    def transition(self, now: float) -> None:
        self.calls.append("tick")

    def status(self) -> Any:
        return SimpleNamespace(name=self.spec.name, pid=None)


def test_fleet_owns_one_supervisor_per_node_and_a_lost_gpu_stops_only_its_node() -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    made: list[FakeSupervisor] = []

    def factory(spec: NodeSpec) -> Supervisor:
        made.append(FakeSupervisor(spec))
        return made[-1]

    fleet = Fleet(bus, factory, [NodeSpec("gpu0", "m"), NodeSpec("gpu1", "m")])
    assert set(fleet.by_gpu()) == {0, 1}
    fleet.start_all()
    fleet.transition(1.0)
    bus.emit(Event("gpu.lost", "gpu1", "GPU 1 (RTX 3060) stopped answering the driver", {"index": 1}))
    assert made[0].calls == ["start", "tick"]
    assert made[1].calls == ["start", "tick", "stop"]
    assert log.events[-1].topic == "gpu.node_stopped" and log.events[-1].source == "gpu1"
    with pytest.raises(ValueError, match="already exists"):
        fleet.add(NodeSpec("gpu0", "m"))
    fleet.close()
    assert set(fleet.statuses()) == {"gpu0", "gpu1"}


def test_sampler_lost_event_reaches_the_fleet() -> None:
    from farnode_desktop.core.gpus.sampler import GpuSampler

    bus = EventBus()
    nv = FakeNvml.from_file(FIXTURES / "linux_rtx4090_rtx3060.json")
    made: list[FakeSupervisor] = []
    fleet = Fleet(
        bus,
        lambda spec: made.append(FakeSupervisor(spec)) or made[-1],  # type: ignore[func-returns-value]
        [NodeSpec("gpu0", "m"), NodeSpec("gpu1", "m")],
    )
    sampler = GpuSampler(GpuReader(nv), bus)
    sampler.sample_once()
    nv.lose(0)
    sampler.sample_once()
    assert made[0].calls == ["stop"] and made[1].calls == []
    fleet.close()


# ---- games-first with the real NodeSupervisor and a real server process ----

SERVER = """
import time
print("Nov 25 10:00:00.000 [INFO] Started", flush=True)
while True:
    time.sleep(0.05)
"""


SERVING_PROBE = FakeProbe()
SERVING_PROBE.body = {"state": "serving", "start_block": 0, "end_block": 80, "blocks": list(range(80))}


class ScriptBackend:
    """A stand-in node server: a real child process that logs Petals' `Started` line and runs until SIGINT."""

    name = "script"

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand:
        return LaunchCommand(argv=[sys.executable, "-c", SERVER], cwd=workdir, env=minimal_env({}))


class LiveNvml(FakeNvml):
    """NVML for the node's card: its compute process and 20 GiB exist while the process lives."""

    node_pid: int | None = None

    def _alive(self) -> bool:
        if self.node_pid is None:
            return False
        try:
            return psutil.Process(self.node_pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        procs = super().nvmlDeviceGetComputeRunningProcesses(handle)
        return procs + ([SimpleNamespace(pid=self.node_pid, usedGpuMemory=20 * GIB)] if self._alive() else [])

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        m = super().nvmlDeviceGetMemoryInfo(handle)
        held = 20 * GIB if self._alive() else 0
        return SimpleNamespace(total=m.total, used=m.used + held, free=m.free - held)


def test_games_first_pauses_and_resumes_the_real_supervisor(farnode_home: Path) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    spec = NodeSpec("gpu0", "meta-llama/Llama-2-70b-chat-hf", device="cuda", cuda_visible_devices="0")
    supervisor = NodeSupervisor(
        spec,
        AppPaths.default(),
        bus,
        ScriptBackend(),
        clock=SystemClock(),
        probe=SERVING_PROBE,  # serving is announced from the status endpoint's answer, which names the blocks
        policy=SupervisorPolicy(stop_grace_s=5, term_grace_s=2, kill_grace_s=2),
    )
    nv = LiveNvml.from_file(FIXTURES / "linux_rtx4090.json")
    assert isinstance(nv, LiveNvml)
    reader = GpuReader(nv)
    steam: list[int | None] = [0]
    gf = GamesFirst(
        bus,
        SystemClock(),
        Settings,
        reader.inventory,
        lambda: {0: supervisor},
        signals=quiet_signals(steam=lambda: steam[0]),
        resume_after_s=0,
    )
    try:
        supervisor.start()
        assert supervisor.wait_until(lambda s: s is NodeState.SERVING, 20, 0.05) is NodeState.SERVING
        nv.node_pid = supervisor.status().pid
        gf.tick()
        assert reader.inventory().gpus[0].compute_processes[0].pid == nv.node_pid  # the node holds the GPU
        assert "gpu.paused" not in log.topics()

        steam[0] = 1245620  # the provider starts a game from Steam
        gf.tick()
        assert supervisor.wait_until(lambda s: s is NodeState.PAUSED, 20, 0.05) is NodeState.PAUSED
        assert supervisor.status().reason == "Steam game running (app 1245620)"
        gf.tick()  # games-first looks at the card again
        paused = [e for e in log.events if e.topic == "gpu.paused"]
        assert [(e.source, e.reason) for e in paused] == [("gpu0", "Steam game running (app 1245620)")]
        (freed,) = [e for e in log.events if e.topic == "gpu.vram_freed"]
        assert freed.data["free_bytes"] == reader.inventory().gpus[0].free_bytes
        states = [e.data["state"] for e in log.events if e.topic == "node.state"]
        assert states[-2:] == ["stopping", "paused"]

        steam[0] = 0  # the game ends
        gf.tick()
        assert [e.reason for e in log.events if e.topic == "gpu.resumed"] == [
            "Game or program ended (was: Steam game running (app 1245620))"
        ]
        assert supervisor.wait_until(lambda s: s is NodeState.SERVING, 20, 0.05) is NodeState.SERVING
    finally:
        supervisor.stop()
        supervisor.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 20, 0.05)
    assert supervisor.state is NodeState.STOPPED
