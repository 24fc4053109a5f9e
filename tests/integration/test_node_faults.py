"""A bounded fault campaign against a supervised node on the tiny model: each round kills or freezes one process of
the node's group (server, DHT process, handler, p2pd) at random; the node must notice, serve again, answer a real
client, and leave no process behind. `benchmarks/bench_node_faults.py` runs a longer one."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.integration.test_node_supervised import group_pids, tiny_spec
from tests.runtime_env import run_generate

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

# A campaign restarts the node every round: no crash-loop cool-down here, short backoff.
CAMPAIGN_POLICY = SupervisorPolicy(stop_grace_s=10, term_grace_s=3, backoff_base_s=0.5, backoff_cap_s=2,
                                   crash_limit=1000, watchdog_interval_s=1, watchdog_timeout_s=15,
                                   startup_timeout_s=180)
KINDS = ("server", "DHT process", "request handler", "p2pd")


def pick_victim(server_pid: int, kind: str) -> psutil.Process:
    """One process of the node's group, by its role (the DHT process is the parent of the long-lived p2pd)."""
    children = psutil.Process(server_pid).children(recursive=True)
    daemons = [p for p in children if p.name() == "p2pd" and p.ppid() != server_pid]
    pythons = [p for p in children if p.name().startswith("python") and p.ppid() == server_pid]
    dht = next(p for p in pythons if any(d.ppid() == p.pid for d in daemons))
    if kind == "server":
        return psutil.Process(server_pid)
    if kind == "DHT process":
        return dht
    if kind == "p2pd":
        return daemons[0]
    return random.Random(server_pid).choice([p for p in pythons if p.pid != dht.pid])


def run_campaign(sup: NodeSupervisor, runtime: NodeRuntime, model: Path, rounds: int, seed: int,
                 report: list[dict[str, object]]) -> set[int]:
    """`rounds` faults, each followed by recovery and a real client; returns every process group the node used."""
    rng = random.Random(seed)
    pgids: set[int] = set()
    kinds = rng.sample(KINDS, len(KINDS))  # every kind once in each four rounds, in a random order
    for number in range(rounds):
        before = sup.status()
        assert before.pid is not None
        pgids.add(before.pid)
        kind, sig = kinds[number % len(kinds)], rng.choice((signal.SIGKILL, signal.SIGSTOP))
        victim = pick_victim(before.pid, kind)
        victim.send_signal(sig)
        hit = time.monotonic()
        assert sup.wait_until(lambda s: s is NodeState.BACKOFF, 30) is NodeState.BACKOFF, \
            f"round {number}: {kind} {sig.name} not noticed: {sup.status()}"
        noticed = time.monotonic() - hit
        reason = sup.status().reason
        state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
        status = sup.status()
        assert state is NodeState.SERVING, f"round {number}: {status}"
        back = time.monotonic() - hit
        assert group_pids(before.pid) == [], f"round {number}: the old group was left running"
        result = run_generate(runtime, str(model), status.multiaddrs, status.dht_prefix, new_tokens=3)
        assert len(result["tokens"][0]) == 8, f"round {number}: {result}"
        report.append({"round": number, "kind": kind, "signal": sig.name, "noticed_s": round(noticed, 1),
                       "serving_again_s": round(back, 1), "reason": reason})
    pgids.add(sup.status().pid or 0)
    return pgids


def test_random_kills_and_freezes_recover_with_no_orphans(farnode_home: Path, runtime: NodeRuntime,
                                                          tiny_model: Path) -> None:
    seed = int(os.environ.get("FARNODE_FAULT_SEED", "11"))
    sup = make_supervisor(tiny_spec(tiny_model), AppPaths.default(), EventBus(), runtime, policy=CAMPAIGN_POLICY)
    report: list[dict[str, object]] = []
    pgids: set[int] = set()
    sup.start()
    try:
        assert sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180) is NodeState.SERVING
        pgids = run_campaign(sup, runtime, tiny_model, rounds=4, seed=seed, report=report)
    finally:
        print(f"seed {seed}:", *report, sep="\n  ")
        sup.stop()
        final = sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()
    assert final is NodeState.STOPPED
    orphans = {pgid: group_pids(pgid) for pgid in pgids if group_pids(pgid)}
    assert orphans == {}, orphans
    assert all(float(str(r["noticed_s"])) < 10 for r in report), report  # every fault noticed within seconds
