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
from farnode_desktop.core.node_spec import NodeSpec
from farnode_desktop.core.node_status import NodeState
from farnode_desktop.core.nodes import dht_prefix_for, make_supervisor
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.runtime import NodeRuntime
from farnode_desktop.core.supervisor import PID_FILE, NodeSupervisor, SupervisorPolicy
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
    assert state is NodeState.SERVING, sup.status()
    # the status endpoint has answered at least once (blocks and peer id come from it)
    sup.wait_until(lambda s: sup.status().end_block is not None, 30)


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
    service.kill()  # the app dies without stopping its server
    service.wait()
    orphans = group_pids(old["pgid"])
    assert orphans, "the server outlives a killed app: that is what the pid file is for"

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
    assert "serving" in started.stdout
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = json.loads(farnode("node", "status", "--json", "--name", "cli").stdout)
        if body.get("end_block") is not None:
            break
        time.sleep(0.5)
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
        assert "status endpoint stopped answering" in sup.status().reason
        assert group_pids(frozen) == []  # the frozen group was killed, not left behind
        serving(sup)
        assert sup.status().pid != frozen and sup.status().restarts == 1
    finally:
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()
