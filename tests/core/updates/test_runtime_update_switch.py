"""A runtime switch through a supervised node (scripted process host): the node drains, the runtime pointer moves,
and the node starts again saying why in its log (not "started by the provider", which the provider did not do)."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.runtime_versions import READY, RuntimeVersions
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.updates.runtime_update import SWITCHED_REASON, RuntimeSwitch
from tests.core.node.supervisor_rig import Rig


def test_the_switched_node_says_it_restarted_onto_the_updated_runtime(tmp_path: Path) -> None:
    location = tmp_path / "runtime"
    location.mkdir()
    (location / "bin").mkdir()  # the runtime FarNode installed first: a venv named by its lock
    (location / "pyvenv.cfg").write_text(f"home = {location}/bin\n")
    versions = RuntimeVersions(location)
    versions.path("v2").mkdir(parents=True)
    (versions.path("v2") / READY).write_text("checked")
    rig = Rig(tmp_path / "home")
    rig.sup.start()
    rig.serve()
    first_launches = len(rig.host.launched)
    rig.probe.body["sessions_cache_bytes"] = 0  # no open session: the drain ends at the next answer
    switch = RuntimeSwitch(versions, "v2", [rig.sup], deadline_s=60)
    rig.tick(1)
    rig.probe.body = {}
    for _ in range(10):
        if switch.tick():
            break
        rig.tick(1)
    assert switch.done and versions.current_id() == "v2"
    assert len(rig.host.launched) == first_launches + 1 and rig.sup.state is NodeState.STARTING
    reasons = [e.reason for e in rig.log.events if e.topic == "node.state"]
    assert reasons[-1] == SWITCHED_REASON == "restarted onto the updated node runtime"
    assert reasons.count("started by the provider") == 1  # the provider's own start, before the switch


def test_a_reason_given_to_a_running_node_is_not_kept_for_a_later_launch(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.sup.start(SWITCHED_REASON)  # already running: nothing launches, nothing is remembered
    rig.sup.stop()
    for _ in range(5):
        rig.tick(1)
    rig.probe.body = {}
    for _ in range(5):
        rig.tick(1)
    assert rig.sup.state is NodeState.STOPPED
    rig.sup.start()
    assert rig.sup.status().reason == "started by the provider"
