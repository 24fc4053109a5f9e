"""Applying settings on a 2-GPU PC (NVML replayed from real readings, real supervisors over the scripted OS of
tests/core/node/fake_os.py): only nodes whose launch changes restart, the provider's pause outlives a restart, and
the ledger keeps every served token across restarts and shutdown."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import FleetOptions, build_specs, plan_changes
from farnode_desktop.core.gpus.nvml import GpuInventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SETTINGS, Settings, SettingsStore
from tests.core.node.fake_os import FakeHost, FakeProbe

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "nvml" / "linux_rtx4090_rtx3060.json"
POLICY = SupervisorPolicy(stop_grace_s=20, term_grace_s=5, kill_grace_s=5, probe_interval_s=1, watchdog_interval_s=5,
                          watchdog_timeout_s=30)
BASE = Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"])


def serving_body(name: str, served: int) -> dict[str, object]:
    return {"state": "serving", "peer_id": f"Qm{name}", "start_block": 0, "end_block": 8, "blocks": list(range(8)),
            "served_tokens": served, "requests": {"inference": 1}}


class Rig:
    """An AppCore whose supervisors are real, over a scripted OS; each supervisor has its own status endpoint."""

    def __init__(self, tmp_path: Path, settings: Settings = BASE) -> None:
        self.clock = ManualClock()
        self.host = FakeHost()
        self.bus = EventBus()
        self.paths = AppPaths.under(tmp_path)
        SettingsStore(self.paths.ensure().config_file).save(settings)
        self.made: list[NodeSupervisor] = []
        self.probes: dict[int, FakeProbe] = {}
        self.core = AppCore(self.paths, bus=self.bus, nvml=FakeNvml.from_file(FIXTURE), clock=self.clock,
                            supervisor_factory=self.factory, sample_gpus=False)

    def factory(self, spec: NodeSpec) -> NodeSupervisor:
        probe = FakeProbe()
        sup = NodeSupervisor(spec, self.paths, self.bus, NativeBackend(Path("/rt/bin/python"), Path("/app")),
                             host=self.host, clock=self.clock, probe=probe, policy=POLICY)
        self.probes[id(sup)] = probe
        self.made.append(sup)
        return sup

    def node(self, name: str) -> NodeSupervisor:
        sup = self.core.fleet.nodes[name]
        assert isinstance(sup, NodeSupervisor)
        return sup

    def serve(self, name: str, served: int) -> None:
        """The node's status endpoint says it serves and has served `served` tokens (Petals' counter)."""
        self.probes[id(self.node(name))].body = serving_body(name, served)

    def run(self, seconds: float, step: float = 1.0) -> None:
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            self.core.tick()

    def state(self, name: str) -> NodeState:
        return self.node(name).status().state

    def settings(self, **changes: object) -> Settings:
        new = Settings.from_json(self.core.settings.to_json())
        for key, value in changes.items():
            setattr(new, key, value)
        return new


def serving_rig(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path)
    rig.core.start()
    for name in ("gpu0", "gpu1"):
        rig.serve(name, 0)
    rig.run(2)
    assert rig.state("gpu0") is rig.state("gpu1") is NodeState.SERVING
    return rig


def test_only_the_nodes_whose_launch_changes_restart(tmp_path: Path) -> None:
    rig = serving_rig(tmp_path)
    gpu0, gpu1 = rig.node("gpu0"), rig.node("gpu1")
    plan0, plan1 = gpu0.spec.num_blocks or 0, gpu1.spec.num_blocks or 0
    assert plan1 + 1 < plan0  # the 3060 serves fewer blocks than the 4090

    rules = rig.settings().pause
    rules.programs, rules.temperature_limit_c = ["eldenring.exe"], 80
    quiet = rig.settings(log_level="DEBUG", start_at_login=True, serve_on_launch=False, pause=rules,
                         coordinator_url="http://127.0.0.1:9999")
    assert rig.core.apply_settings(quiet) == []  # nothing a node is launched with
    assert len(rig.host.launched) == 2 and not rig.host.signals

    between = (plan0 + plan1) // 2  # the 3060 already serves fewer than this: only the 4090 changes
    assert rig.core.apply_settings(rig.settings(blocks=between)) == ["gpu0"]
    assert rig.state("gpu0") is NodeState.STOPPING and rig.node("gpu1") is gpu1
    rig.run(3)
    assert rig.node("gpu0") is not gpu0 and rig.node("gpu0").spec.num_blocks == between
    assert rig.state("gpu0") is NodeState.STARTING and rig.node("gpu1") is gpu1
    assert rig.state("gpu1") is NodeState.SERVING and len(rig.host.launched) == 3
    assert rig.node("gpu0").spec.port == gpu0.spec.port  # it keeps its port (and identity) across the restart

    # leaving GPU 1 out stops its node only; taking it back starts one again
    uuid1 = FakeNvml.from_file(FIXTURE).gpu(1)["uuid"]
    assert rig.core.apply_settings(rig.settings(excluded_gpus=[uuid1])) == ["gpu1"]
    rig.run(3)
    assert sorted(rig.core.fleet.nodes) == ["gpu0"] and gpu1.status().state is NodeState.STOPPED
    assert rig.core.apply_settings(rig.settings(excluded_gpus=[])) == ["gpu1"]
    assert rig.state("gpu1") is NodeState.STARTING and len(rig.host.launched) == 4

    new0, new1 = rig.node("gpu0"), rig.node("gpu1")
    assert sorted(rig.core.apply_settings(rig.settings(public_name="farm-7"))) == ["gpu0", "gpu1"]
    rig.run(3)
    assert rig.node("gpu0") is not new0 and rig.node("gpu1") is not new1
    assert rig.node("gpu0").spec.public_name == "farm-7"


# A value other than BASE's for every declared setting (a new setting fails here until it is given one).
OTHER: dict[str, object] = {
    "model": "meta-llama/Meta-Llama-3.1-70B-Instruct", "excluded_gpus": [FakeNvml.from_file(FIXTURE).gpu(1)["uuid"]],
    "blocks": 1, "headroom_gib": 64.0, "quantization": "none", "initial_peers": ["/ip4/5.6.7.8/tcp/1/p2p/QmY"],
    "new_swarm": True, "public_name": "farm-7", "pause.detect_games": False, "pause.programs": ["blender.exe"],
    "pause.schedule": [{"days": [0], "start": "09:00", "end": "10:00"}], "pause.temperature_limit_c": 40,
    "pause.only_when_idle": True, "pause.idle_minutes": 1, "coordinator_url": "http://127.0.0.1:9999",
    "chain_rpc_url": "http://127.0.0.1:8545", "chain_id": 8453, "start_at_login": True, "serve_on_launch": False,
    "log_level": "DEBUG", "electricity_price_per_kwh": 0.3,
}


def fleet_specs(settings: Settings, inventory: GpuInventory) -> list[NodeSpec]:
    model = Catalog.load().get(settings.model)
    return build_specs(assess(inventory, model, settings), model, settings, FleetOptions())


@pytest.mark.parametrize("key", list(SETTINGS))
def test_a_setting_relaunches_nodes_exactly_when_its_declaration_says(tmp_path: Path, key: str) -> None:
    """Each setting changed on its own on the 2-GPU PC: the fleet's own comparison of launches (plan_changes, with no
    short cut) and AppCore's apply restart nodes for it exactly when it is declared `relaunches`."""
    setting = SETTINGS[key]
    rig = serving_rig(tmp_path)
    old = rig.core.settings
    new = rig.settings()
    setting.write(new, OTHER[key])
    assert setting.read(new) != setting.read(old)
    inventory = rig.core.planning_inventory()
    assert inventory is not None
    running = {name: sup.spec for name, sup in rig.core.fleet.nodes.items()}
    planned = plan_changes(running, fleet_specs(old, inventory), fleet_specs(new, inventory))
    assert bool(planned.touched) is setting.relaunches
    assert bool(rig.core.apply_settings(new)) is setting.relaunches
    assert bool(rig.host.signals) is setting.relaunches  # a node told to stop, to be relaunched or left out
    assert SettingsStore(rig.paths.config_file).load() == new


def test_a_node_that_was_stopped_stays_stopped_after_a_restart(tmp_path: Path) -> None:
    rig = serving_rig(tmp_path)
    rig.core.stop_nodes()
    rig.run(2)
    assert rig.core.apply_settings(rig.settings(public_name="farm-7")) == ["gpu0", "gpu1"]
    rig.run(2)
    assert rig.state("gpu0") is rig.state("gpu1") is NodeState.STOPPED and len(rig.host.launched) == 2
    assert rig.node("gpu0").spec.public_name == "farm-7"


@pytest.mark.parametrize("gpu", [None, 0])
def test_the_providers_pause_outlives_a_settings_restart(tmp_path: Path, gpu: int | None) -> None:
    rig = serving_rig(tmp_path)
    rig.core.snooze("2h", gpu=gpu)
    rig.run(3)
    assert rig.state("gpu0") is NodeState.PAUSED
    assert rig.state("gpu1") is (NodeState.PAUSED if gpu is None else NodeState.SERVING)

    assert "gpu0" in rig.core.apply_settings(rig.settings(public_name="farm-7"))
    rig.run(10)
    assert rig.node("gpu0").spec.public_name == "farm-7"
    for name in ("gpu0", "gpu1"):
        rig.serve(name, 0)  # the restarted nodes' status endpoints (a paused node has no server to answer)
    rig.run(2)
    launched = len(rig.host.launched)
    rig.run(60 * 60)  # an hour later the pause still holds: no server was launched for the paused node
    assert rig.state("gpu0") is NodeState.PAUSED and len(rig.host.launched) == launched
    assert rig.core.snoozed is (gpu is None) and (gpu is None or set(rig.core.snoozed_gpus()) == {0})
    assert rig.state("gpu1") is (NodeState.PAUSED if gpu is None else NodeState.SERVING)

    rig.run(61 * 60 + 5)  # the 2 h are up: it serves again by itself
    assert rig.state("gpu0") in (NodeState.STARTING, NodeState.LOADING, NodeState.SERVING)
    assert not rig.core.snoozed and rig.core.snoozed_gpus() == {}


def test_every_served_token_reaches_the_ledger_across_a_restart_and_shutdown(tmp_path: Path) -> None:
    rig = serving_rig(tmp_path)
    first = rig.node("gpu0")
    rig.serve("gpu0", 5000)
    rig.run(61)  # a whole period: 5,000 recorded
    assert sum(w.tokens for w in rig.core.ledger.served_work("gpu0")) == 5000
    rig.serve("gpu0", 5100)
    rig.run(5)  # the status endpoint is read again: 100 more in the open period
    assert first.status().served_tokens == 5100
    assert rig.core.apply_settings(rig.settings(public_name="farm-7")) == ["gpu0", "gpu1"]
    rig.run(3)
    assert rig.node("gpu0") is not first
    assert sum(w.tokens for w in rig.core.ledger.served_work("gpu0")) == first.status().served_tokens == 5100

    rig.serve("gpu0", 0)
    rig.run(2)
    rig.serve("gpu0", 250)
    rig.run(6)
    second = rig.node("gpu0")
    assert second.status().served_tokens == 250
    rig.core.shutdown(timeout_s=30)
    assert second.status().state is NodeState.STOPPED
    ledger = rig.core.ledger.__class__(rig.paths.ledger_file)
    assert sum(w.tokens for w in ledger.served_work("gpu0")) == 5100 + 250
    ledger.close()


def test_a_slow_stop_does_not_hold_the_core(tmp_path: Path) -> None:
    """apply_settings returns at once; the tick goes on (statuses, games first) while the old node stops."""
    rig = serving_rig(tmp_path)
    for proc in rig.host.launched:
        proc.ignores.add(signal.SIGINT)  # the server takes its time: SIGTERM comes after the grace period
    old = rig.node("gpu0")
    before = rig.clock.monotonic()
    assert rig.core.apply_settings(rig.settings(public_name="farm-7")) == ["gpu0", "gpu1"]
    assert rig.clock.monotonic() == before  # it did not wait (its clock did not move)
    rig.run(10)
    assert old.status().state is NodeState.STOPPING and rig.node("gpu0") is old
    rig.core.start_nodes()  # the provider's controls still answer; the restarted node will run
    rig.run(15)
    assert rig.node("gpu0") is not old and rig.state("gpu0") is NodeState.STARTING
