"""The supervisor's state machine, driven by `transition(now)` over a scripted OS (tests/core/node/fake_os.py)."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
from pathlib import Path

import pytest

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.node.host import GroupMember
from farnode_desktop.core.node.restarts import duration_text
from farnode_desktop.core.node.service import NodeService, state_file
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE, NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.core.node.fake_os import FakeHost, FakeProbe

POLICY = SupervisorPolicy(stop_grace_s=20, term_grace_s=5, kill_grace_s=5, backoff_base_s=2, backoff_cap_s=8,
                          crash_limit=4, crash_window_s=600, probe_interval_s=1, watchdog_interval_s=5,
                          watchdog_timeout_s=30, startup_timeout_s=900, stable_after_s=120)
SERVING_BODY = {"state": "serving", "peer_id": "QmPeer", "multiaddrs": ["/ip4/127.0.0.1/tcp/5/p2p/QmPeer"],
                "start_block": 0, "end_block": 4, "blocks": [0, 1, 2, 3], "served_tokens": 0,
                "requests": {"inference": 0}}


class Rig:
    def __init__(self, tmp_path: Path, policy: SupervisorPolicy = POLICY, **kwargs: object) -> None:
        self.clock = ManualClock()
        self.host = FakeHost()
        self.probe = FakeProbe()
        self.log = EventLog()
        bus = EventBus()
        bus.subscribe(self.log)
        self.paths = AppPaths.under(tmp_path)
        spec = NodeSpec(name="gpu0", model="/models/tiny", dht_prefix="tiny", new_swarm=True, port=31337)
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
    rig.tick(590)
    assert len(rig.host.launched) == launches  # a crash loop cools down before it tries again (see below)


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


def _restart_reason(rig: Rig, within_s: float) -> str:
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


def test_a_p2pd_killed_right_after_serving_is_noticed_within_seconds(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    gone = rig.host.launched[0].kill_child("p2pd")
    reason = _restart_reason(rig, within_s=1.5)
    assert f"the networking daemon (p2pd) (pid {gone.pid}) exited" in reason and "restarting in 2 s" in reason


def test_a_p2pd_killed_while_loading_is_noticed_within_seconds(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.tick(1)  # the process table has been read once: the DHT process and its daemon are watched from the start
    rig.host.launched[0].say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    assert rig.tick() is NodeState.LOADING
    rig.host.launched[0].kill_child("p2pd")
    assert "networking daemon (p2pd)" in _restart_reason(rig, within_s=1.5)


def test_a_dead_dht_process_or_handler_is_named(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.tick(1)
    rig.host.launched[0].kill_child("python")
    assert "the DHT process" in _restart_reason(rig, within_s=1.5)
    rig.tick(3)
    proc = rig.host.launched[-1]
    proc.children.append(GroupMember(proc.pid + 5, "python", 11.0, proc.pid))  # a request handler
    rig.serve()
    rig.tick(1)
    proc.children = [c for c in proc.children if c.pid != proc.pid + 5]
    assert f"the request handler process (pid {proc.pid + 5}) exited" in _restart_reason(rig, within_s=1.5)


def test_a_short_lived_reachability_daemon_while_starting_is_not_a_crash(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    proc = rig.host.launched[0]
    probe = GroupMember(proc.pid + 7, "p2pd", 10.0, proc.pid)  # Petals' reachability check, started by the server
    proc.children.append(probe)
    rig.tick(1)
    rig.tick(1)
    proc.children.remove(probe)
    for _ in range(5):
        assert rig.tick(1) is NodeState.STARTING
    rig.serve()
    assert rig.sup.status().restarts == 0


@pytest.mark.parametrize("frozen", ["p2pd", "python", "server"])
def test_a_stopped_process_counts_as_frozen_not_alive(tmp_path: Path, frozen: str) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    proc = rig.host.launched[0]
    rig.probe.body = dict(SERVING_BODY)  # the endpoint still answers: only the process table tells
    if frozen == "server":
        proc.frozen = True
        pid = proc.pid
    else:
        pid = proc.freeze_child(frozen).pid
    reason = _restart_reason(rig, within_s=3.5)
    assert f"(pid {pid}) is frozen" in reason
    term = rig.host.signals.index(("group", proc.pgid, signal.SIGTERM))
    assert rig.host.signals[term - 1] == ("group", proc.pgid, signal.SIGCONT)  # resumed, so SIGTERM can act


class FullDisk:
    """The file boundary of a full disk: every write fails as the OS fails it, until space is freed."""

    def __init__(self) -> None:
        self.full = True
        self.written: dict[Path, str] = {}

    def __call__(self, path: Path, text: str) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        self.written[path] = text


def test_a_full_disk_never_ends_the_node_service_and_says_so(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    disk = FullDisk()
    service = NodeService(rig.sup, rig.paths, writer=disk)
    rig.sup.start()
    rig.serve()
    for _ in range(3):
        rig.tick(1)
        status = service.publish()  # raised "No space left on device" and ended the service before
    assert status.state is NodeState.SERVING and len(rig.host.launched) == 1  # the node is kept on purpose
    assert "There is not enough free disk space: FarNode cannot save the node's status file" in status.hint
    assert "No space left on device" in status.hint  # the real cause, in the OS's words
    problems = [e for e in rig.log.events if e.topic == "node.problem"]
    assert len(problems) == 1 and not problems[0].data["resolved"]
    disk.full = False
    service.publish()
    rig.tick(1)
    status = service.publish()
    assert "disk space" not in status.hint
    assert json.loads(disk.written[state_file(rig.paths, "gpu0")])["state"] == "serving"
    assert [e.data["resolved"] for e in rig.log.events if e.topic == "node.problem"] == [False, True]


def test_an_unwritable_pid_file_is_reported_and_the_node_still_runs(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    pid_file = rig.paths.node_dir("gpu0") / PID_FILE
    rig.host.on_launch = lambda proc: pid_file.mkdir()  # a real write failure: the path is a folder by then
    rig.sup.start()
    rig.serve()
    status = rig.sup.status()
    assert status.state is NodeState.SERVING
    assert "FarNode cannot save the server's pid file" in status.hint and "Is a directory" in status.hint


def test_a_service_that_cannot_write_its_pid_file_refuses_to_start_in_plain_words(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(FarNodeError, match="There is not enough free disk space") as caught:
        NodeService(rig.sup, rig.paths, writer=FullDisk()).run()
    assert "free some disk space" in caught.value.hint
    assert rig.host.launched == []


def _crash_loop(rig: Rig) -> None:
    """Crash the server until the crash-loop limit is reached (POLICY: 4 in 10 minutes)."""
    for _ in range(POLICY.crash_limit):
        rig.host.launched[-1].exit(1)
        rig.tick()
        while rig.tick(0.5) is NodeState.BACKOFF:
            pass


def test_a_crash_loop_cools_down_and_tries_again_by_itself(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    for cooldown in (600.0, 1800.0, 3600.0, 3600.0):  # 10 min, 30 min, then 1 h each time
        _crash_loop(rig)
        status = rig.sup.status()
        assert status.state is NodeState.FAILED, status
        assert f"tries again by itself in {duration_text(cooldown)}" in status.reason
        assert status.retry_in_s == pytest.approx(cooldown, abs=1)  # when the next try is, for the tray and CLI
        launches = len(rig.host.launched)
        rig.tick(cooldown - 5)
        assert rig.sup.state is NodeState.FAILED and len(rig.host.launched) == launches
        assert rig.tick(6) is NodeState.STARTING
        assert rig.log.events[-1].reason == f"trying again by itself after a {duration_text(cooldown)} cool-down"
    rig.serve()
    rig.tick(POLICY.stable_after_s + 5)  # serving stably forgives the past: the next crash loop cools down 10 min
    _crash_loop(rig)
    assert rig.sup.status().retry_in_s == pytest.approx(600, abs=1)


def test_stop_during_a_cool_down_stops_and_start_tries_at_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    _crash_loop(rig)
    rig.sup.start()  # the provider does not want to wait
    assert rig.sup.state is NodeState.STARTING
    _crash_loop(rig)
    rig.sup.stop()
    assert rig.sup.state is NodeState.STOPPED
    launches = len(rig.host.launched)
    rig.tick(4000)
    assert len(rig.host.launched) == launches


@pytest.mark.parametrize(("line", "heals"), [
    ("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", True),
    ("OSError: [Errno 28] No space left on device", True),
    ("Failed to load file config.json from HF Hub (retry in 30 sec)", True),
    ("OSError: Can't load the configuration of '/models/missing'", False),
    ("OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 31337): address already in use", False),
    ("RuntimeError: CUDA driver version is insufficient for CUDA runtime version", False),
])
def test_causes_that_can_heal_cool_down_the_others_stay_failed(tmp_path: Path, line: str, heals: bool) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say(line)
    rig.tick()
    assert rig.tick() is NodeState.FAILED
    status = rig.sup.status()
    if heals:
        assert status.retry_in_s == pytest.approx(600, abs=1) and "tries again by itself in 10 min" in status.hint
        rig.tick(601)
        assert rig.sup.state is NodeState.STARTING and len(rig.host.launched) == 2
    else:
        assert status.retry_in_s is None and "tries again" not in status.hint
        rig.tick(10_000)
        assert rig.sup.state is NodeState.FAILED and len(rig.host.launched) == 1


def test_serving_is_announced_only_with_its_blocks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    seen: list[tuple[str, int | None, int | None]] = []
    rig.sup.bus.subscribe(lambda e: seen.append((e.data["state"], rig.sup.status().start_block,
                                                 rig.sup.status().end_block)) if e.topic == "node.state" else None)
    rig.sup.start()
    proc = rig.host.launched[0]
    proc.say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    rig.tick()
    rig.probe.body = dict(SERVING_BODY, state="loading blocks", start_block=None, end_block=None, blocks=[])
    proc.say("Nov 22 14:07:41.001 [INFO] Started")  # the log says started before the endpoint knows the blocks
    assert rig.tick(0.1) is NodeState.LOADING
    rig.probe.body = dict(SERVING_BODY)
    assert rig.tick(0.1) is NodeState.SERVING  # the next tick asks at once, not after the probe interval
    assert seen[-1] == ("serving", 0, 4)
    assert rig.log.events[-1].reason == "serving blocks 0-3 of tiny"


def test_handlers_are_learnt_when_serving_is_announced(tmp_path: Path) -> None:
    rig = Rig(tmp_path, policy=dataclasses.replace(POLICY, members_interval_s=3))
    rig.sup.start()
    rig.tick(3)  # one look at the process table while starting
    proc = rig.host.launched[0]
    handler = GroupMember(proc.pid + 5, "python", 11.0, proc.pid)
    proc.children.append(handler)  # the handlers start just before the server says it serves
    rig.serve()
    proc.children.remove(handler)  # and one dies before the supervisor's next look
    assert f"the request handler process (pid {handler.pid}) exited" in _restart_reason(rig, within_s=3.5)


def _health(passed: int = 0, failed: int = 0, error: str = "", running_s: float | None = None) -> dict[str, object]:
    consecutive = failed if error else 0
    return {"checks": passed + failed, "passed": passed, "failed": failed, "consecutive_failures": consecutive,
            "last_error": error, "last_passed_ago_s": 1.0 if passed else None, "last_took_s": 0.03,
            "running_s": running_s, "cpu_s": 0.01}


def test_serving_only_after_the_first_test_request_through_the_node_passed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    rig.tick()
    rig.probe.body = dict(SERVING_BODY, health=_health())  # the blocks are up, no test request has passed yet
    for _ in range(3):
        assert rig.tick(1) is NodeState.LOADING
    assert rig.sup.status().reason == "sending a test request through the node"
    assert rig.states() == ["starting", "loading blocks", "loading blocks"]  # said once, not every tick
    rig.probe.body["health"] = _health(failed=1, error="P2PDaemonError: failed to dial")  # one miss is not enough
    assert rig.tick(1) is NodeState.LOADING
    rig.probe.body["health"] = _health(passed=1, failed=1)
    assert rig.tick(1) is NodeState.SERVING
    status = rig.sup.status()
    assert status.reason == "serving blocks 0-3 of tiny" and status.restarts == 0
    assert status.health_check == "a test request passed in 0.03 s, 1 s ago"


def test_failing_test_requests_restart_a_serving_node_with_what_failed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    error = "P2PHandlerError: Failed to call handler `rpc_forward`: RuntimeError: 'LlamaModel' has no attribute"
    rig.probe.body.update(failed_batches=7, health=_health(passed=3, failed=1, error=error))
    rig.tick(5)
    status = rig.sup.status()
    assert status.state is NodeState.SERVING  # one failure may be a passing hiccup: the prober confirms in 5 s
    assert status.failed_requests == 7 and status.health_check == f"the last test request failed: {error}"
    rig.probe.body["health"] = _health(passed=3, failed=2, error=error)
    reason = _restart_reason(rig, within_s=5.5)  # the endpoint answers and the process table is fine: still failed
    assert reason == (f"the node answers its status endpoint but a test request through it failed 2 times in a "
                      f"row: {error}; restarting in 2 s")
    assert rig.sup.status().restarts == 1
    rig.probe.body = {}
    rig.tick(2.1)
    assert rig.sup.state is NodeState.STARTING and len(rig.host.launched) == 2  # backoff, then a fresh server
    rig.serve()


def test_a_node_whose_test_requests_never_pass_backs_off_then_cools_down(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    for attempt in range(POLICY.crash_limit):
        proc = rig.host.launched[-1]
        proc.say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
        rig.probe.body = dict(SERVING_BODY, health=_health(failed=2, error="no answer within 20 s"))
        while rig.tick(0.5) is not NodeState.BACKOFF and rig.sup.state is not NodeState.FAILED:
            assert rig.sup.state is not NodeState.SERVING
        if attempt < POLICY.crash_limit - 1:
            assert "a test request through it failed 2 times in a row: no answer within 20 s" in rig.sup.status().reason
            rig.probe.body = {}
            while rig.tick(0.5) is NodeState.BACKOFF:
                pass
    status = rig.sup.status()
    assert status.state is NodeState.FAILED and status.retry_in_s == pytest.approx(600, abs=1)
    assert "(last: the node answers its status endpoint but a test request through it failed" in status.reason


def test_a_test_request_that_hangs_counts_as_failed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["health"] = _health(passed=2, running_s=POLICY.health_stuck_s + 1)
    assert "a test request through it failed: it has not answered for 61 s" in _restart_reason(rig, within_s=5.5)


def test_a_node_whose_test_requests_stopped_passing_is_restarted(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["health"] = dict(_health(passed=4), last_passed_ago_s=POLICY.health_silent_s - 1)
    rig.tick(5)
    assert rig.sup.state is NodeState.SERVING
    rig.probe.body["health"] = dict(_health(passed=4), last_passed_ago_s=POLICY.health_silent_s + 5)
    assert "no test request has passed for 205 s" in _restart_reason(rig, within_s=5.5)
