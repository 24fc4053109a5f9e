"""The supervisor with a real Petals server on the tiny model, in a private swarm on loopback (CPU)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.node.factory import dht_prefix_for, make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE, NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.runtime_env import run_generate

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=0.5, backoff_cap_s=2, crash_limit=4,
                          watchdog_interval_s=1, watchdog_timeout_s=15, startup_timeout_s=180)


def tiny_spec(model: Path, name: str = "cpu", port: int = 0) -> NodeSpec:
    return NodeSpec(name=name, model=str(model), dht_prefix=dht_prefix_for(str(model)), new_swarm=True,
                    listen_host="127.0.0.1", port=port, device="cpu", num_blocks=4, torch_dtype="float32",
                    throughput="1.0", num_handlers=2)


def serving(sup: NodeSupervisor, timeout: float = 180) -> None:
    state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), timeout)
    status = sup.status()
    assert state is NodeState.SERVING, status
    # serving is announced from the status endpoint's answer that names the blocks: never "serving" with blocks "-"
    assert (status.start_block, status.end_block) == (0, 4) and status.peer_id, status


def group_pids(pgid: int) -> list[int]:
    out = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc.info["pid"])
        except (ProcessLookupError, psutil.Error):
            continue
    return out


@pytest.fixture
def supervisor(farnode_home: Path, runtime: NodeRuntime, tiny_model: Path):
    bus = EventBus()
    log = EventLog()
    bus.subscribe(log)
    sup = make_supervisor(tiny_spec(tiny_model), AppPaths.default(), bus, runtime, policy=POLICY)
    sup.events = log  # type: ignore[attr-defined]
    yield sup
    sup.stop()
    sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


def test_serves_tokens_equal_to_local_model_and_counts_them(supervisor: NodeSupervisor, runtime: NodeRuntime,
                                                            tiny_model: Path) -> None:
    supervisor.start()
    serving(supervisor)
    status = supervisor.status()
    assert status.peer_id and status.multiaddrs[0].endswith(status.peer_id)
    assert (status.start_block, status.end_block) == (0, 4)
    # serving means a test request through the node passed: it is not a request of the swarm's
    assert status.requests == 0 and status.no_requests_for_s is not None

    batch, prompt_len, new_tokens = 2, 5, 12
    result = run_generate(runtime, str(tiny_model), status.multiaddrs, status.dht_prefix, new_tokens=new_tokens,
                          batch=batch, compare_local=True)
    assert result["tokens"] == result["local_tokens"]  # served output == the same model run locally
    assert len(result["tokens"][0]) == prompt_len + new_tokens
    assert result["route"] == [{"peer_id": status.peer_id, "start_block": 0, "end_block": 4}]

    # The first inference step carries the prompt, each later step one token: batch x tokens x blocks.
    expected = batch * (prompt_len + new_tokens - 1) * 4
    supervisor.wait_until(lambda s: supervisor.status().served_tokens >= expected, 15)
    status = supervisor.status()
    assert status.served_tokens == expected
    assert status.requests == new_tokens  # one merged inference step per generated token
    assert status.no_requests_for_s is not None and status.no_requests_for_s < status.uptime_s  # counted anew
    topics = [(e.data["previous"], e.data["state"]) for e in supervisor.events.events]  # type: ignore[attr-defined]
    assert topics[:2] == [("stopped", "starting"), ("starting", "loading blocks")]
    assert ("loading blocks", "serving") in topics


def test_restarts_after_server_or_p2pd_is_killed_and_stop_leaves_nothing(
        supervisor: NodeSupervisor, runtime: NodeRuntime, tiny_model: Path) -> None:
    supervisor.start()
    serving(supervisor)
    first = supervisor.status()
    pgids = {first.pid}
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    state = supervisor.wait_until(lambda s: s is NodeState.BACKOFF, 30)
    assert state is NodeState.BACKOFF
    assert "exited unexpectedly" in supervisor.status().reason
    serving(supervisor)
    second = supervisor.status()
    assert second.pid != first.pid and second.restarts == 1
    assert second.peer_id == first.peer_id  # same identity file, so the same peer id
    pgids.add(second.pid)
    result = run_generate(runtime, str(tiny_model), second.multiaddrs, second.dht_prefix, new_tokens=4)
    assert len(result["tokens"][0]) == 9

    assert second.pid is not None
    p2pd = [p for p in psutil.Process(second.pid).children(recursive=True) if p.name() == "p2pd"]
    assert p2pd, "the server runs its networking daemon as a child"
    p2pd[0].kill()
    state = supervisor.wait_until(lambda s: s is NodeState.BACKOFF, 30)
    assert "p2pd" in supervisor.status().reason
    serving(supervisor)
    third = supervisor.status()
    assert third.restarts == 2
    pgids.add(third.pid)
    result = run_generate(runtime, str(tiny_model), third.multiaddrs, third.dht_prefix, new_tokens=4)
    assert len(result["tokens"][0]) == 9

    supervisor.stop()
    assert supervisor.wait_until(lambda s: s is NodeState.STOPPED, 60) is NodeState.STOPPED
    for pgid in pgids:
        assert pgid is not None and group_pids(pgid) == [], f"process group {pgid} still has processes"
    assert not (supervisor.workdir / PID_FILE).exists()


def test_bad_model_path_fails_with_a_clear_reason_and_no_restart_loop(
        farnode_home: Path, runtime: NodeRuntime, tmp_path: Path) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    spec = tiny_spec(tmp_path / "no-such-model")
    spec.dht_prefix = "missing"
    sup = make_supervisor(spec, AppPaths.default(), bus, runtime, policy=POLICY)
    sup.start()
    state = sup.wait_until(lambda s: s is NodeState.FAILED, 120)
    status = sup.status()
    assert state is NodeState.FAILED, status
    assert "model could not be found" in status.reason
    assert status.restarts == 0
    assert any("no-such-model" in line for line in status.log_lines)
    assert [e.data["state"] for e in log.events].count("starting") == 1


def test_port_in_use_fails_with_the_port_in_the_reason(farnode_home: Path, runtime: NodeRuntime,
                                                       tiny_model: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        sup = make_supervisor(tiny_spec(tiny_model, port=port), AppPaths.default(), EventBus(), runtime, policy=POLICY)
        sup.start()
        state = sup.wait_until(lambda s: s is NodeState.FAILED, 120)
        status = sup.status()
    assert state is NodeState.FAILED, status
    assert f"port {port} is already used" in status.reason
    assert status.restarts == 0


def test_next_start_ends_the_leftovers_of_a_killed_app(farnode_home: Path, runtime: NodeRuntime,
                                                      tiny_model: Path) -> None:
    env = dict(os.environ, FARNODE_HOME=str(farnode_home))
    service = subprocess.Popen(
        [sys.executable, "-m", "farnode_desktop", "node", "start", "--foreground", "--new-swarm",
         "--model", str(tiny_model)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    paths = AppPaths.default()
    pid_file = paths.node_dir("cpu") / PID_FILE
    state_file = paths.node_dir("cpu") / "state.json"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if state_file.exists() and json.loads(state_file.read_text()).get("state") == "serving":
            break
        time.sleep(0.5)
    else:
        service.kill()
        pytest.fail("the node service did not reach serving")
    old = json.loads(pid_file.read_text())
    os.kill(old["pid"], signal.SIGSTOP)  # a frozen server cannot end itself when its supervisor dies
    service.kill()  # the app dies without stopping its server
    service.wait()
    time.sleep(1)
    orphans = group_pids(old["pgid"])
    assert orphans, "a frozen server outlives a killed app: that is what the pid file is for"
    shown = subprocess.run([sys.executable, "-m", "farnode_desktop", "node", "status", "--json", "--name", "cpu"],
                           capture_output=True, text=True, timeout=60, check=True, env=env)
    body = json.loads(shown.stdout)
    assert body["state"] == "stopping" and "still run" in body["reason"], body  # never "stopped" while it runs

    spec = tiny_spec(tiny_model)
    spec.port = int((paths.node_dir("cpu") / "port").read_text())
    sup = make_supervisor(spec, paths, EventBus(), runtime, policy=POLICY)
    sup.start()
    try:
        assert group_pids(old["pgid"]) == []  # ended before the identity file is reused
        serving(sup)
    finally:
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


def test_cli_start_status_stop(farnode_home: Path, runtime: NodeRuntime, tiny_model: Path) -> None:
    def farnode(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "farnode_desktop", *args], capture_output=True, text=True,
                              timeout=timeout, check=False, env=dict(os.environ, FARNODE_HOME=str(farnode_home)))

    started = farnode("node", "start", "--new-swarm", "--model", str(tiny_model), "--name", "cli")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "serving blocks 0-3 of tiny-demo" in started.stdout  # the blocks are named when serving is announced
    body = json.loads(farnode("node", "status", "--json", "--name", "cli").stdout)
    assert body["state"] == "serving" and body["start_block"] == 0 and body["end_block"] == 4
    assert body["peer_id"] and body["multiaddrs"] and body["dht_prefix"] == "tiny-demo-hf"
    for key in ("pid", "served_tokens", "tokens_per_s", "uptime_s", "reason"):
        assert key in body
    text = farnode("node", "status", "--name", "cli").stdout
    assert "node cli: serving" in text and "served tokens:" in text
    pgid = body["pid"]
    stopped = farnode("node", "stop", "--name", "cli")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert group_pids(pgid) == []
    assert json.loads(farnode("node", "status", "--json", "--name", "cli").stdout)["state"] == "stopped"


def test_the_watchdog_restarts_a_frozen_server(farnode_home: Path, runtime: NodeRuntime, tiny_model: Path) -> None:
    policy = SupervisorPolicy(stop_grace_s=5, term_grace_s=3, backoff_base_s=0.5, watchdog_interval_s=1,
                              watchdog_timeout_s=6)
    sup = make_supervisor(tiny_spec(tiny_model), AppPaths.default(), EventBus(), runtime, policy=policy)
    sup.start()
    try:
        serving(sup)
        frozen = sup.status().pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)  # alive, but answers nothing: a hung server
        assert sup.wait_until(lambda s: s is NodeState.BACKOFF, 60) is NodeState.BACKOFF
        assert f"the server process (pid {frozen}) is frozen" in sup.status().reason  # seen in the process table
        assert group_pids(frozen) == []  # the frozen group was killed, not left behind
        serving(sup)
        assert sup.status().pid != frozen and sup.status().restarts == 1
    finally:
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()


def test_a_frozen_p2pd_is_restarted_within_seconds(supervisor: NodeSupervisor, runtime: NodeRuntime,
                                                   tiny_model: Path) -> None:
    supervisor.start()
    serving(supervisor)
    first = supervisor.status()
    assert first.pid is not None
    daemons = [p for p in psutil.Process(first.pid).children(recursive=True) if p.name() == "p2pd"]
    dht_daemon = next(p for p in daemons if p.ppid() != first.pid)  # the DHT process's daemon: clients reach it
    dht_daemon.suspend()  # SIGSTOP: alive in the process table, serving nothing
    frozen_at = time.monotonic()
    assert supervisor.wait_until(lambda s: s is NodeState.BACKOFF, 30) is NodeState.BACKOFF
    noticed = time.monotonic() - frozen_at
    reason = supervisor.status().reason
    assert f"the networking daemon (p2pd) (pid {dht_daemon.pid}) is frozen" in reason, reason
    assert noticed < 10, noticed
    serving(supervisor)
    second = supervisor.status()
    assert second.restarts == 1 and group_pids(first.pid) == []  # the frozen group was ended, nothing left
    result = run_generate(runtime, str(tiny_model), second.multiaddrs, second.dht_prefix, new_tokens=4)
    assert len(result["tokens"][0]) == 9


SUPERVISOR_IN_A_CHILD = """
import sys, threading, time
from pathlib import Path
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.node.runtime import NodeRuntime
from tests.integration.test_node_supervised import POLICY, tiny_spec

sup = make_supervisor(tiny_spec(Path(sys.argv[1])), AppPaths.default(), EventBus(), NodeRuntime(Path(sys.argv[2])),
                      policy=POLICY)
launcher = threading.Thread(target=sup.start)  # launched from a thread that ends, as the tray's task thread does
launcher.start()
launcher.join()
state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
print(state.value, sup.server_pid, flush=True)
while True:
    sup.transition(time.monotonic())
    time.sleep(0.2)
"""


def test_a_server_never_outlives_its_supervisor(farnode_home: Path, runtime: NodeRuntime, tiny_model: Path) -> None:
    env = dict(os.environ, FARNODE_HOME=str(farnode_home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, "-c", SUPERVISOR_IN_A_CHILD, str(tiny_model), str(runtime.location)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             start_new_session=True)
    try:
        assert child.stdout is not None
        state, pid = child.stdout.readline().split()
        assert state == "serving", state
        pgid = int(pid)
        members = group_pids(pgid)
        assert len(members) >= 4, members  # the server, its DHT process, handlers, p2pd
        time.sleep(3)  # the launching thread is long gone; the server must still run
        assert group_pids(pgid) == members
    finally:
        child.kill()  # SIGKILL: the supervisor gets no chance to stop anything
        child.wait()
    killed_at = time.monotonic()
    while group_pids(pgid) and time.monotonic() - killed_at < 15:
        time.sleep(0.2)
    gone_after = time.monotonic() - killed_at
    assert group_pids(pgid) == [], f"orphans: {group_pids(pgid)}"
    assert gone_after < 10, gone_after
