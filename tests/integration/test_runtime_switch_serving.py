"""A real node switching runtimes while a client keeps sending inference sessions loses no served work.

"No served work lost" here means: every session either completes with the right tokens, or fails before its first
step was served (refused: by the draining node, by the routing that no longer finds an online server, or while no
server runs); no session is cut after it started. The session in flight when the switch begins completes, because
the node drains (it takes no new session and finishes the open one) before it stops. The client never retries a
failed step on another route (max_retries=1), so a cut session cannot hide behind a retry. The new runtime is a
hard-link clone of the test runtime whose lock changes one small wheel (six), prepared before the node starts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.runtime_versions import RuntimeVersions
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.runtime_prepare import prepare
from farnode_desktop.core.updates.runtime_update import RuntimeSwitch
from farnode_desktop.mesh.sessions import REFUSAL
from tests.core.updates.runtime_rig import clone_runtime, lock_with, variant_wheel
from tests.integration.test_node_supervised import POLICY, serving, tiny_spec

pytestmark = [pytest.mark.runtime, pytest.mark.slow]
CLIENT = Path(__file__).with_name("steady_client.py")


class Client:
    """The steady client in the test runtime's Python; its events as they come."""

    def __init__(self, runtime: NodeRuntime, model: Path, peers: list[str], prefix: str, stop: Path) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
               "PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1", "PETALS_IGNORE_DEPENDENCY_VERSION": "1"}
        self.proc = subprocess.Popen([str(runtime.python), str(CLIENT), str(model), "--initial-peers", *peers,
                                      "--dht-prefix", prefix, "--stop-file", str(stop)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     start_new_session=True)
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("STEADY "):
                self.events.append(json.loads(line.removeprefix("STEADY ")))

    def wait_for(self, done: Any, timeout: float, tick: Any = None) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline and self.proc.poll() is None, self.events[-10:]
            if tick is not None:
                tick()
            time.sleep(0.05)

    def count(self, event: str, thread: str | None = None, after: float = 0.0) -> int:
        return sum(1 for e in self.events if e.get("event") == event and thread in (None, e.get("thread"))
                   and e["at"] >= after)

    def end(self) -> None:
        """Wait for the client to stop, then end its group (its own p2pd child may outlive it)."""
        try:
            self.proc.wait(90)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def test_a_node_switching_runtimes_under_load_loses_no_session(
        farnode_home: Path, runtime: NodeRuntime, tiny_model: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    location = farnode_home / "data" / "runtime"
    current = clone_runtime(location)
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(location))
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    wheel = variant_wheel(current, "six", "1.17.0.post1", tmp_path / "wheels")
    versions = RuntimeVersions(location)
    prepared = prepare(versions, lock_with(current, "six", wheel), None, None)

    sup = make_supervisor(tiny_spec(tiny_model), AppPaths.default(), EventBus(), NodeRuntime(location), policy=POLICY)
    stop = tmp_path / "stop"
    client: Client | None = None
    try:
        sup.start()
        serving(sup)
        status = sup.status()
        assert status.dht_prefix
        client = Client(runtime, tiny_model, list(status.multiaddrs), status.dht_prefix, stop)
        tick = lambda: sup.transition(time.monotonic())  # noqa: E731
        c = client
        c.wait_for(lambda: c.count("completed", "long") >= 1 and c.count("completed", "short") >= 2, 240, tick)
        started = c.count("started", "long")
        c.wait_for(lambda: c.count("started", "long") > started, 60, tick)  # a long session has just begun
        in_flight = [e for e in c.events if e.get("event") == "started" and e["thread"] == "long"][-1]["session"]

        drain_began = time.time()
        switch = RuntimeSwitch(versions, prepared.vid, [sup], deadline_s=120)
        stopped_at: float | None = None

        def step() -> None:
            nonlocal stopped_at
            sup.transition(time.monotonic())
            if stopped_at is None and sup.state not in (NodeState.SERVING, NodeState.DRAINING):
                stopped_at = time.time()
            switch.tick()

        c.wait_for(lambda: switch.done and sup.state is NodeState.SERVING, 300, step)
        served_again = time.time()
        assert os.path.realpath(location) == str(prepared.folder)  # it serves from the new runtime
        c.wait_for(lambda: c.count("completed", "long", after=served_again) >= 1
                   and c.count("completed", "short", after=served_again) >= 1, 180, tick)
        stop.touch()
        c.end()
    finally:
        stop.touch()
        if client is not None:  # what the client saw, for the reader of a failure
            Path("artifacts").mkdir(exist_ok=True)
            Path("artifacts/runtime-switch-client.json").write_text(json.dumps(client.events, indent=1))

            with contextlib.suppress(ProcessLookupError):
                os.killpg(client.proc.pid, signal.SIGKILL)
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()

    events = client.events
    failed = [e for e in events if e.get("event") == "failed"]
    print(json.dumps({"drain_began": drain_began, "stopped_at": stopped_at, "served_again": served_again,
                      "failed": failed}, indent=1))
    assert [e for e in failed if e["steps"] > 0] == []  # no session was cut after it started
    long_done = {e["session"] for e in events if e.get("event") == "completed" and e["thread"] == "long"}
    assert in_flight in long_done  # the session open when the switch began finished on the old runtime
    completed = [e for e in events if e.get("event") == "completed"]
    assert len({tuple(e["tokens"]) for e in completed if e["thread"] == "long"}) == 1  # same output, both runtimes
    assert stopped_at is not None
    refused_while_draining = [e for e in failed if drain_began <= e["at"] <= stopped_at]
    assert refused_while_draining and all(REFUSAL in e["error"] or "no servers" in e["error"].lower()
                                          for e in refused_while_draining), refused_while_draining
