"""A supervised node serving the tiny demo Llama on the CPU, shared by the tests of this folder that need a swarm."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import dht_prefix_for, ensure_tiny_model, make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.runtime_env import runtime_dir_for_tests

POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=0.5, backoff_cap_s=2, crash_limit=3,
                          watchdog_interval_s=1, watchdog_timeout_s=15, startup_timeout_s=180)


@pytest.fixture(scope="package")
def tiny_llama_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeStatus, Path, str]]:
    """The tiny Llama's 4 blocks served in a private swarm on loopback: (status, model folder, DHT prefix)."""
    paths = AppPaths.under(tmp_path_factory.mktemp("home"))
    runtime = NodeRuntime(runtime_dir_for_tests())
    model = ensure_tiny_model(paths, runtime)
    prefix = dht_prefix_for(str(model))
    spec = NodeSpec(name="tiny", model=str(model), dht_prefix=prefix, new_swarm=True, listen_host="127.0.0.1",
                    port=0, device="cpu", num_blocks=4, torch_dtype="float32", throughput="1.0", num_handlers=2)
    sup = make_supervisor(spec, paths, EventBus(), runtime, policy=POLICY)
    sup.start()
    try:
        state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
        assert state is NodeState.SERVING, sup.status()
        yield sup.status(), model, prefix
    finally:
        sup.stop()
        with contextlib.suppress(Exception):
            sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
