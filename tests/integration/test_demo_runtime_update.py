"""The demo shows a node-runtime update end to end on the real stack: after the first served request its update
server publishes a new runtime (one small wheel rebuilt offline), the app prepares it beside the current one (a
hard-link clone, pip from the demo's local folder only, runtime check, a trial node), the node drains and starts once
on it, the gateway's requests are served again, and the work served before the switch stays counted. The provider's
own runtime is never touched: the demo's node runs from a link that the switch moves."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from farnode_desktop.core.events import Event, EventLog
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.demo import NODE_RUNTIME_LINK, DemoNetwork, MemoryKeyring
from tests.integration.test_demo_e2e import farnode_processes

pytestmark = [pytest.mark.runtime, pytest.mark.slow]
SWITCH_WITHIN_S = 400.0


def _six(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import six; print(six.__version__)"], capture_output=True, text=True,
                          check=True, env={"PATH": os.environ.get("PATH", "")}).stdout.strip()


def _served_in_ledger(core: object) -> int:
    earnings = core.earnings()  # type: ignore[attr-defined]
    return sum(n.served_tokens for n in earnings.nodes) if earnings is not None else 0


def test_the_demo_switches_its_node_to_a_new_runtime_and_serving_resumes(tmp_path: Path,
                                                                       runtime: NodeRuntime) -> None:
    paths = AppPaths.under(tmp_path / "demo-home")
    demo = DemoNetwork(paths, runtime, keyring=MemoryKeyring(), gateway_interval_s=0.5, runtime_update_after_s=0,
                       policy=SupervisorPolicy(watchdog_interval_s=1, stop_grace_s=15))
    seen = EventLog()
    demo.bus.subscribe(seen, "update.")
    six_before = _six(runtime.python)
    figures: dict[str, float] = {}
    began = time.monotonic()
    try:
        core = demo.start()
        figures["serving"] = time.monotonic() - began
        link = paths.data / NODE_RUNTIME_LINK
        assert link.is_symlink() and link.resolve() == runtime.location.resolve()
        deadline = time.monotonic() + SWITCH_WITHIN_S
        done: list[Event] = []
        while not done and time.monotonic() < deadline:
            core.tick()
            problems = [e.reason for e in seen.events if e.topic == "update.problem"]
            assert not problems, problems
            done = [e for e in seen.events if e.topic == "update.runtime" and e.data.get("stage") == "done"]
            time.sleep(0.3)
        assert done, [e.reason for e in seen.events]
        figures["switched"] = time.monotonic() - began
        stages = [e.data.get("stage") for e in seen.events if e.topic == "update.runtime"]
        # published by the demo's server, prepared (with what pip got), the node drained, then switched
        assert stages[0] == "published" and "preparing" in stages and stages.index("switching") < stages.index("done")
        assert any("getting: six" in e.reason for e in seen.events), [e.reason for e in seen.events]
        assert done[0].data["changed"] == ["six"]
        assert demo.runtime_release == f"six {six_before} -> {six_before}.post1"

        # the node runs on the new runtime: the link moved to the prepared version, which has the new six
        versions = paths.data / f"{NODE_RUNTIME_LINK}.versions"
        assert link.is_symlink() and link.resolve().parent == versions.resolve()
        assert _six(demo.node_runtime.python) == f"{six_before}.post1"
        # the provider's runtime is what it was
        assert _six(runtime.python) == six_before and not runtime.location.is_symlink()

        # serving resumes: the gateway's requests are served again, and what was served before is still counted
        served_at_switch = _served_in_ledger(core)
        requests_at_switch = demo.stats.requests
        assert served_at_switch > 0
        end = time.monotonic() + 240
        while demo.stats.requests < requests_at_switch + 3 and time.monotonic() < end:
            core.tick()
            assert demo.gateway_running(), "the gateway process ended"
            time.sleep(0.3)
        assert demo.stats.requests >= requests_at_switch + 3, demo.stats.gateway_errors[-3:]
        figures["requests served again"] = time.monotonic() - began
        status = core.node_statuses()[0]
        assert status.state is NodeState.SERVING
        end = time.monotonic() + 30
        while _served_in_ledger(core) <= served_at_switch and time.monotonic() < end:
            core.tick()
            time.sleep(0.3)
        assert _served_in_ledger(core) > served_at_switch
        print("seconds from the demo's start:", {k: round(v, 1) for k, v in figures.items()})
    finally:
        demo.stop()
    time.sleep(0.5)
    assert farnode_processes(tmp_path) == [], "the demo left processes behind"
