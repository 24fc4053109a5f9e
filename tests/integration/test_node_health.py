"""The health check with a real Petals server on the tiny model: the node is serving only once a real test request
through its blocks passed, and a node whose blocks fail every request, while its processes and status endpoint stay
up, is restarted with a reason that says so."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.host import LaunchCommand
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.health import FAULT_FILE_ENV, INTERVAL_ENV
from tests.integration.test_node_supervised import POLICY, group_pids, serving, tiny_spec
from tests.runtime_env import run_generate

pytestmark = [pytest.mark.runtime, pytest.mark.slow]


class FaultyBlocks:
    """The real backend, with the test-only knobs: checks every 2 s, and blocks that fail while `flag` exists."""

    def __init__(self, inner: NodeBackend, flag: Path) -> None:
        self.inner, self.flag, self.name = inner, flag, inner.name

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand:
        command = self.inner.command(spec, workdir)
        command.env.update({INTERVAL_ENV: "2", FAULT_FILE_ENV: str(self.flag)})
        return command


def test_blocks_that_fail_every_request_are_restarted_with_the_health_check_reason(
        farnode_home: Path, runtime: NodeRuntime, tiny_model: Path, tmp_path: Path) -> None:
    flag = tmp_path / "fail-requests"
    sup = make_supervisor(tiny_spec(tiny_model), AppPaths.default(), EventBus(), runtime, policy=POLICY)
    sup.backend = FaultyBlocks(sup.backend, flag)
    pgids: set[int] = set()
    sup.start()
    try:
        serving(sup)
        first = sup.status()
        assert first.pid is not None
        pgids.add(first.pid)
        assert first.health_check.startswith("a test request passed"), first  # serving came after a passed one
        time.sleep(5)  # a few more test requests pass ...
        sup.wait_until(lambda s: False, 1)
        assert sup.status().served_tokens == 0  # ... and none of them counts as work served to the swarm

        flag.touch()  # from now on the blocks raise on every request; processes and status endpoint stay up
        broke = time.monotonic()
        state = sup.wait_until(lambda s: s is not NodeState.SERVING, 30)
        assert state in (NodeState.STOPPING, NodeState.BACKOFF), sup.status()
        status = sup.status()
        assert "the node answers its status endpoint but a test request through it failed 2 times in a row" \
            in status.reason, status
        assert "test fault: this node's blocks fail every request" in status.reason, status
        assert status.failed_requests >= 1, status  # the failing requests show, not only the restart
        noticed = time.monotonic() - broke
        assert noticed < 15, noticed  # a check every 2 s, a retry 2 s after a failure, a status probe every second

        flag.unlink()
        serving(sup)
        second = sup.status()
        assert second.pid != first.pid and second.restarts == 1
        assert second.pid is not None
        pgids.add(second.pid)
        assert not psutil.pid_exists(first.pid) and group_pids(first.pid) == []
        result = run_generate(runtime, str(tiny_model), second.multiaddrs, second.dht_prefix, new_tokens=3)
        assert len(result["tokens"][0]) == 8
    finally:
        sup.stop()
        final = sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()
    assert final is NodeState.STOPPED
    assert {pgid: group_pids(pgid) for pgid in pgids if group_pids(pgid)} == {}
