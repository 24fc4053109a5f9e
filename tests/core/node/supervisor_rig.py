"""The rig the supervisor tests share: a supervisor over the scripted OS (fake_os.py), a manual clock and an event
log, with the helpers that drive it (serve, crash, wait for a restart)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.core.node.fake_os import FakeHost, FakeProbe

POLICY = SupervisorPolicy(stop_grace_s=20, term_grace_s=5, kill_grace_s=5, backoff_base_s=2, backoff_cap_s=8,
                          crash_limit=4, crash_window_s=600, probe_interval_s=1, watchdog_interval_s=5,
                          watchdog_timeout_s=30, startup_timeout_s=900, stable_after_s=120)
SERVING_BODY = {"state": "serving", "peer_id": "QmPeer", "multiaddrs": ["/ip4/127.0.0.1/tcp/5/p2p/QmPeer"],
                "start_block": 0, "end_block": 4, "blocks": [0, 1, 2, 3], "served_tokens": 0,
                "requests": {"inference": 0}}


class Rig:
    def __init__(self, tmp_path: Path, policy: SupervisorPolicy = POLICY, port: int = 31337, **kwargs: object) -> None:
        self.clock = ManualClock()
        self.host = FakeHost()
        self.probe = FakeProbe()
        self.log = EventLog()
        bus = EventBus()
        bus.subscribe(self.log)
        self.paths = AppPaths.under(tmp_path)
        spec = NodeSpec(name="gpu0", model="/models/tiny", dht_prefix="tiny", new_swarm=True, port=port)
        self.sup = NodeSupervisor(spec, self.paths, bus, NativeBackend(Path("/rt/bin/python"), Path("/app")),
                                  host=self.host, clock=self.clock, probe=self.probe, policy=policy, **kwargs)  # type: ignore[arg-type]

    def tick(self, seconds: float = 0.0) -> NodeState:
        self.clock.advance(seconds)
        self.sup.transition(self.clock.monotonic())
        return self.sup.state

    def serve(self) -> None:
        proc = self.host.launched[-1]
        proc.say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
        assert self.tick() is NodeState.LOADING
        self.probe.body = dict(SERVING_BODY)
        assert self.tick(1) is NodeState.SERVING

    def states(self) -> list[str]:
        return [e.data["state"] for e in self.log.events]


def restart_reason(rig: Rig, within_s: float) -> str:
    """Tick in 0.1 s steps until the supervisor stops the server; the reason it gives, or fail after `within_s`."""
    waited = 0.0
    while rig.sup.state in (NodeState.STARTING, NodeState.LOADING, NodeState.SERVING):
        assert waited <= within_s, f"not noticed within {within_s} s: {rig.sup.status()}"
        rig.tick(0.1)
        waited += 0.1
    rig.tick()
    status = rig.sup.status()
    assert status.state is NodeState.BACKOFF, status
    return status.reason


def crash_loop(rig: Rig) -> None:
    """Crash the server until the crash-loop limit is reached (POLICY: 4 in 10 minutes)."""
    for _ in range(POLICY.crash_limit):
        rig.host.launched[-1].exit(1)
        rig.tick()
        while rig.tick(0.5) is NodeState.BACKOFF:
            pass


def health_report(passed: int = 0, failed: int = 0, error: str = "", running_s: float | None = None) -> dict[str, object]:
    consecutive = failed if error else 0
    return {"checks": passed + failed, "passed": passed, "failed": failed, "consecutive_failures": consecutive,
            "last_error": error, "last_passed_ago_s": 1.0 if passed else None, "last_took_s": 0.03,
            "running_s": running_s, "cpu_s": 0.01}


class FullDisk:
    """The file boundary of a full disk: every write fails as the OS fails it, until space is freed."""

    def __init__(self) -> None:
        self.full = True
        self.written: dict[Path, str] = {}

    def __call__(self, path: Path, text: str) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        self.written[path] = text
