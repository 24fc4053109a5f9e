"""The supervisor's state machine, driven by `transition(now)` over a scripted OS (tests/core/fake_os.py)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.node_spec import NativeBackend, NodeSpec
from farnode_desktop.core.node_status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.process import GroupMember
from farnode_desktop.core.supervisor import PID_FILE, NodeSupervisor, SupervisorPolicy
from tests.core.fake_os import FakeHost, FakeProbe

POLICY = SupervisorPolicy(stop_grace_s=20, term_grace_s=5, kill_grace_s=5, backoff_base_s=2, backoff_cap_s=8,
                          crash_limit=4, crash_window_s=600, probe_interval_s=1, watchdog_interval_s=5,
                          watchdog_timeout_s=30, startup_timeout_s=900, stable_after_s=120)
SERVING_BODY = {"state": "serving", "peer_id": "QmPeer", "multiaddrs": ["/ip4/127.0.0.1/tcp/5/p2p/QmPeer"],
                "start_block": 0, "end_block": 4, "blocks": [0, 1, 2, 3], "served_tokens": 0,
                "requests": {"inference": 0}}


class Rig:
    def __init__(self, tmp_path: Path, **kwargs: object) -> None:
        self.clock = ManualClock()
        self.host = FakeHost()
        self.probe = FakeProbe()
        self.log = EventLog()
        bus = EventBus()
        bus.subscribe(self.log)
        self.paths = AppPaths.under(tmp_path)
        spec = NodeSpec(name="gpu0", model="/models/tiny", dht_prefix="tiny", new_swarm=True, port=31337)
        self.sup = NodeSupervisor(spec, self.paths, bus, NativeBackend(Path("/rt/bin/python"), Path("/app")),
                                  host=self.host, clock=self.clock, probe=self.probe, policy=POLICY, **kwargs)  # type: ignore[arg-type]

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


def test_start_to_serving_with_a_reason_on_every_change(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    assert rig.sup.state is NodeState.STARTING
    command = rig.host.launched[0].command
    assert command.argv[:3] == ["/rt/bin/python", "-m", "farnode_desktop.mesh.serve"]
    assert command.cwd == rig.paths.node_dir("gpu0")  # the app's own folder, so Petals' ./config.yml is ours
    assert "--identity_path" in command.argv and "--dht_prefix" in command.argv
    assert json.loads((command.cwd / PID_FILE).read_text())["pgid"] == rig.host.launched[0].pgid
    rig.serve()
    status = rig.sup.status()
    assert (status.peer_id, status.start_block, status.end_block) == ("QmPeer", 0, 4)
    assert rig.states() == ["starting", "loading blocks", "serving"]
    assert all(e.reason for e in rig.log.events)
    assert rig.log.events[-1].reason == "serving blocks 0-3 of tiny"


def test_the_child_environment_is_an_allowlist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_SECRET_SHOULD_NOT_LEAK", "0xdeadbeef")
    rig = Rig(tmp_path)
    rig.sup.start()
    env = rig.host.launched[0].command.env
    assert "FARNODE_SECRET_SHOULD_NOT_LEAK" not in env
    assert env["PYTHONPATH"] == "/app" and env["PETALS_IGNORE_DEPENDENCY_VERSION"] == "1"


def test_crashes_back_off_exponentially_then_fail_as_a_crash_loop(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    delays = []
    for attempt in range(4):
        rig.host.launched[-1].exit(1)
        rig.tick()  # exit seen -> stopping (the group is ended)
        state = rig.tick()
        if attempt == 3:
            break
        assert state is NodeState.BACKOFF
        delays.append(rig.sup.status().retry_in_s)
        assert rig.tick(delays[-1] - 0.1) is NodeState.BACKOFF
        assert rig.tick(0.2) is NodeState.STARTING
    assert delays == [2.0, 4.0, 8.0]  # 2 s, doubling, capped at 8 s
    status = rig.sup.status()
    assert status.state is NodeState.FAILED
    assert "failed 4 times in 10 minutes" in status.reason
    launches = len(rig.host.launched)
    rig.tick(1000)
    assert len(rig.host.launched) == launches  # failed means no more restarts until the provider starts it


def test_a_fatal_log_line_fails_at_once_with_the_explanation(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    rig.tick()
    assert rig.tick() is NodeState.FAILED
    status = rig.sup.status()
    assert status.reason == "The GPU ran out of memory while loading blocks."
    assert "headroom" in status.hint
    assert len(rig.host.launched) == 1


def test_stop_escalates_interrupt_terminate_kill_and_confirms_the_group_is_empty(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    proc.ignores = {signal.SIGINT, signal.SIGTERM}  # a wedged server
    rig.sup.stop()
    assert rig.sup.state is NodeState.STOPPING
    assert rig.host.signals[-1] == ("pid", proc.pid, signal.SIGINT)
    assert rig.tick(19) is NodeState.STOPPING
    rig.tick(2)
    assert rig.host.signals[-1] == ("group", proc.pgid, signal.SIGTERM)
    rig.tick(6)
    assert rig.host.signals[-1] == ("group", proc.pgid, signal.SIGKILL)
    assert rig.tick() is NodeState.STOPPED
    assert not (rig.paths.node_dir("gpu0") / PID_FILE).exists()


def test_a_graceful_stop_still_ends_children_the_server_left(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    rig.host.signal_pid = lambda pid, sig: (proc.exit(0, children_too=False), True)[1]  # type: ignore[method-assign]
    rig.sup.stop()
    rig.tick()  # the server exited but its DHT child and p2pd did not: terminate the group now
    assert rig.host.signals[-1] == ("group", proc.pgid, signal.SIGTERM)
    assert rig.tick() is NodeState.STOPPED


def test_the_watchdog_restarts_a_server_whose_status_endpoint_went_silent(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.down = True
    for _ in range(6):
        rig.tick(5)
    assert rig.sup.state is NodeState.SERVING
    rig.tick(5)
    state = rig.tick()
    assert state is NodeState.BACKOFF
    assert "status endpoint stopped answering" in rig.sup.status().reason


def test_a_dead_p2pd_restarts_the_server(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.tick(5)
    rig.tick(5)  # the daemons are learnt over two checks
    proc = rig.host.launched[0]
    proc.children = [c for c in proc.children if c.name != "p2pd"]
    rig.tick(5)
    assert rig.tick() is NodeState.STOPPING or rig.sup.state is NodeState.BACKOFF
    rig.tick()
    assert "p2pd" in rig.sup.status().reason


def test_pause_and_resume_carry_their_reasons(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.sup.pause("Game detected: eldenring.exe is using GPU 0")
    rig.tick()
    assert rig.sup.state is NodeState.PAUSED
    assert rig.log.events[-1].reason == "Game detected: eldenring.exe is using GPU 0"
    rig.sup.resume("the game ended")
    assert rig.sup.state is NodeState.STARTING
    assert rig.log.events[-1].reason == "the game ended"
    assert len(rig.host.launched) == 2


def test_leftovers_of_a_killed_app_are_ended_before_the_next_launch(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    workdir = rig.paths.node_dir("gpu0")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / PID_FILE).write_text(json.dumps({"pid": 77, "pgid": 77, "create_time": 10.0}))
    rig.host.extra_groups[77] = [GroupMember(77, "python", 10.0), GroupMember(78, "p2pd", 10.5)]
    rig.sup.start()
    assert ("group", 77, signal.SIGTERM) in rig.host.signals
    assert rig.host.extra_groups[77] == []
    assert rig.sup.state is NodeState.STARTING


def test_a_reused_pgid_of_someone_else_is_left_alone(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    workdir = rig.paths.node_dir("gpu0")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / PID_FILE).write_text(json.dumps({"pid": 77, "pgid": 77, "create_time": 10.0}))
    rig.host.extra_groups[77] = [GroupMember(77, "bash", 2.0)]  # started long before our server: not ours
    rig.sup.start()
    assert not any(s[1] == 77 for s in rig.host.signals)


def test_missing_runtime_fails_with_what_to_do_or_provisions_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path, runtime_ready=lambda: False)
    rig.sup.start()
    assert rig.sup.state is NodeState.FAILED
    assert "farnode runtime install" in rig.sup.status().hint
    installed = []
    rig2 = Rig(tmp_path / "2", runtime_ready=lambda: bool(installed), provision=lambda: installed.append(1))
    rig2.sup.start()
    assert rig2.sup.state is NodeState.PROVISIONING
    assert rig2.sup.wait_until(lambda s: s is NodeState.STARTING, 5, tick_s=0.01) is NodeState.STARTING


def test_served_tokens_add_up_across_restarts_and_give_a_rate(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["served_tokens"] = 1000
    rig.tick(5)
    rig.probe.body["served_tokens"] = 2000
    rig.tick(5)
    assert rig.sup.status().tokens_per_s == pytest.approx(200.0)
    rig.host.launched[-1].exit(1)
    rig.tick()
    rig.tick()
    rig.tick(3)
    rig.probe.body = dict(SERVING_BODY, served_tokens=50)
    rig.tick(1)
    assert rig.sup.status().served_tokens == 2050


def test_backoff_waits_what_it_says_even_when_a_tick_blocks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.host.clock, rig.host.exited_poll_cost_s = rig.clock, 1.5  # each poll of an exited server blocks 1.5 s
    rig.sup.start()
    waited: list[tuple[float, float]] = []
    for _ in range(3):
        rig.host.launched[-1].exit(1)
        while rig.tick(0.1) is not NodeState.BACKOFF:
            pass
        backoff = rig.log.events[-1]
        announced = float(backoff.reason.rsplit("restarting in ", 1)[1].split(" s")[0])
        while rig.tick(0.1) is NodeState.BACKOFF:
            pass
        waited.append((announced, rig.log.events[-1].at - backoff.at))
    for announced, actual in waited:
        assert announced - 0.01 <= actual <= announced + 0.15, waited
    assert [a for a, _ in waited] == [2.0, 4.0, 8.0]
