"""A catalog update drains before it relaunches: a newly signed catalog, published in a real update repository on
loopback and installed by the app's own background check, changes a serving node's plan; the node (the real
supervisor over the scripted OS) keeps serving its open inference session, stops gracefully only once it closed, and
is relaunched with the new plan. A catalog that drops the node's model drains it and leaves it stopped."""

from __future__ import annotations

import dataclasses
import json
import signal
from pathlib import Path

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.gpus.catalog import ModelSpec, block_params
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import NodeSupervisor
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.core.updates.background import CHECK_PERIOD_S
from farnode_desktop.devnet.update_repo import MODEL_CATALOG, UpdateRepository
from tests.core.node.fake_os import FakeHost, FakeProbe
from tests.core.node.supervisor_rig import POLICY, SERVING_BODY
from tests.core.test_app_core import FIXTURES
from tests.core.updates.update_server import ROOT, catalog, make_repo, point_at, serve

S = NodeState
MODEL = "meta-llama/Llama-2-70b-chat-hf"
SESSION = 2 * 1024 * 1024


@dataclasses.dataclass
class Node:
    sup: NodeSupervisor
    host: FakeHost
    probe: FakeProbe


class Rig:
    """AppCore over one RTX 4090 (NVML replayed) whose nodes are real supervisors over the scripted OS."""

    def __init__(self, tmp_path: Path) -> None:
        self.paths = AppPaths.under(tmp_path / "home")
        SettingsStore(self.paths.ensure().config_file).save(
            Settings(model=MODEL, initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
        self.clock = ManualClock()
        self.bus = EventBus()
        self.log = EventLog()
        self.bus.subscribe(self.log)
        self.made: list[Node] = []
        nvml = FakeNvml(json.loads((FIXTURES / "linux_rtx4090.json").read_text()))
        self.core = AppCore(self.paths, bus=self.bus, nvml=nvml, clock=self.clock, supervisor_factory=self.factory,
                            sample_gpus=False)

    def factory(self, spec: NodeSpec) -> NodeSupervisor:
        host, probe = FakeHost(), FakeProbe()
        sup = NodeSupervisor(spec, self.paths, self.bus, NativeBackend(Path("/rt/bin/python"), Path("/app")),
                             host=host, clock=self.clock, probe=probe, policy=POLICY)
        self.made.append(Node(sup, host, probe))
        return sup

    def tick(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        self.core.tick()

    def serve_with_a_session(self, node: Node) -> None:
        node.host.launched[-1].say("Nov 22 14:07:40.654 [INFO] Loaded block 0")
        node.probe.body = {**SERVING_BODY, "sessions_cache_bytes": SESSION}
        for _ in range(3):
            self.tick(1)
        assert node.sup.state is S.SERVING, node.sup.status()

    def check_now(self) -> None:
        """The background check's next run (its period passed), then the tick that acts on what it installed."""
        self.tick(CHECK_PERIOD_S)
        self.core.updates.join(30)
        self.tick()


def changed_catalog() -> bytes:
    """The shipped catalog with Llama 2 70B's MLP twice as wide (blocks twice as large: fewer fit the GPU)."""
    raw = json.loads((ROOT / "resources" / "models.json").read_text())
    for entry in raw["models"]:
        if entry["name"] == MODEL:
            wider = dataclasses.replace(ModelSpec.from_json(entry), intermediate_size=2 * entry["intermediate_size"])
            entry["intermediate_size"], entry["params_per_block"] = wider.intermediate_size, block_params(wider)
    return json.dumps(raw).encode()


def start(tmp_path: Path, repo: UpdateRepository, url: str) -> tuple[Rig, Node]:
    rig = Rig(tmp_path)
    point_at(rig.paths, url, repo)
    rig.core.start(serve=True)
    first = rig.made[0]
    rig.serve_with_a_session(first)
    rig.core.updates.join(30)  # the first check installs the published catalog (the shipped one): nothing changes
    rig.tick()
    assert rig.core.fleet.nodes["gpu0"] is first.sup and first.sup.state is S.SERVING
    return rig, first


def test_a_changed_plan_drains_the_open_session_then_relaunches(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    repo = make_repo(tmp_path / "release")
    with serve(repo.folder) as (url, _):
        rig, first = start(tmp_path, repo, url)
        blocks_before = first.sup.spec.num_blocks
        repo.publish({MODEL_CATALOG: changed_catalog()})
        rig.check_now()
        assert rig.core.catalog.get(MODEL).intermediate_size == 2 * 28672  # the verified catalog is in use
    assert first.sup.state is S.DRAINING
    for _ in range(10):  # the session stays open: the node serves it on, nothing is signalled or relaunched
        rig.tick(5)
    assert first.sup.state is S.DRAINING and first.host.signals == [] and len(rig.made) == 1
    first.probe.body["sessions_cache_bytes"] = 0  # the session ended
    for _ in range(4):
        rig.tick(1)
        if len(rig.made) == 2:
            break
    assert first.host.signals[0][2] == signal.SIGINT  # a graceful stop, after the session, never a kill
    assert first.sup.status().reason.startswith("drained (its inference sessions have finished)")
    second = rig.made[1]
    assert rig.core.fleet.nodes["gpu0"] is second.sup and second.sup.state is S.STARTING
    assert second.sup.spec.num_blocks is not None and blocks_before is not None
    assert second.sup.spec.num_blocks < blocks_before  # the new plan: blocks twice as large
    rig.core.shutdown(timeout_s=1)


def test_a_model_the_catalog_drops_is_drained_and_left_stopped(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    repo = make_repo(tmp_path / "release")
    with serve(repo.folder) as (url, _):
        rig, first = start(tmp_path, repo, url)
        dropped = json.loads(catalog())
        dropped["models"] = [m for m in dropped["models"] if m["name"] != MODEL]
        repo.publish({MODEL_CATALOG: json.dumps(dropped).encode()})
        rig.check_now()
    assert first.sup.state is S.DRAINING
    problems = [e.reason for e in rig.log.events if e.topic == "node.problem"]
    assert problems == [f"the network's new model catalog no longer offers {MODEL}: the nodes serving it finish "
                        "their inference sessions and stop"]
    rig.tick(5)
    assert first.host.signals == []
    first.probe.body["sessions_cache_bytes"] = 0
    for _ in range(4):
        rig.tick(1)
    assert first.host.signals[0][2] == signal.SIGINT
    assert "gpu0" not in rig.core.fleet.nodes and len(rig.made) == 1  # left out of the new plan, not relaunched
    rig.core.shutdown(timeout_s=1)
