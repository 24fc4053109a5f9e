"""What the node's health check costs: a supervised node on the tiny model is measured twice for the same window, once
with a test request every second and once with none after the first; the difference in the node group's CPU time,
divided by the number of test requests, is the CPU one check costs. The runtime time each check takes from serving
(the status endpoint's `own_check_seconds`) over the 60 s schedule is its share of served capacity.
Run: `FARNODE_RUNTIME_DIR=... .venv/bin/python benchmarks/bench_health_check.py [--window 60]`;
writes benchmarks/results/health_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.node.factory import ensure_tiny_model, make_supervisor  # noqa: E402
from farnode_desktop.core.node.host import LaunchCommand  # noqa: E402
from farnode_desktop.core.node.spec import ENDPOINT_FILE, NodeBackend, NodeSpec  # noqa: E402
from farnode_desktop.core.node.status import HttpStatusProbe, NodeState  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from farnode_desktop.mesh.health import INTERVAL_ENV, INTERVAL_S  # noqa: E402
from tests.integration.test_node_supervised import POLICY, tiny_spec  # noqa: E402
from tests.runtime_env import ensure_runtime  # noqa: E402


class Every:
    def __init__(self, inner: NodeBackend, interval_s: float) -> None:
        self.inner, self.interval_s, self.name = inner, interval_s, inner.name

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand:
        command = self.inner.command(spec, workdir)
        command.env[INTERVAL_ENV] = str(self.interval_s)
        return command


def group_cpu(pgid: int) -> float:
    total = 0.0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                times = proc.cpu_times()
                total += times.user + times.system
        except (ProcessLookupError, psutil.Error):
            continue
    return total


def prober_daemon(server_pid: int) -> psutil.Process | None:
    """The prober's own client p2pd: the server's direct p2pd child (the DHT's p2pd is the DHT process's child)."""
    return next((p for p in psutil.Process(server_pid).children() if p.name() == "p2pd"), None)


def measure(paths: AppPaths, model: Path, interval_s: float, window_s: float) -> dict[str, Any]:
    runtime = ensure_runtime()
    sup = make_supervisor(tiny_spec(model), paths, EventBus(), runtime, policy=POLICY)
    sup.backend = Every(sup.backend, interval_s)
    sup.start()
    try:
        assert sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180) is NodeState.SERVING
        sup.wait_until(lambda s: False, 5)  # settle after start-up
        pgid = sup.status().pid
        assert pgid is not None
        probe, endpoint = HttpStatusProbe(), sup.workdir / ENDPOINT_FILE
        daemon = prober_daemon(pgid)
        assert daemon is not None
        daemon_cpu0 = sum(daemon.cpu_times()[:2])
        before, cpu0, t0 = probe.fetch(endpoint), group_cpu(pgid), time.monotonic()
        took: list[float] = []
        while time.monotonic() - t0 < window_s:
            sup.wait_until(lambda s: False, 1)
            body = probe.fetch(endpoint) or {}
            if (health := body.get("health")) and health.get("last_took_s") is not None:
                took.append(float(health["last_took_s"]))
        after, cpu1, elapsed = probe.fetch(endpoint), group_cpu(pgid), time.monotonic() - t0
        assert before is not None and after is not None
        assert after["health"]["failed"] == 0 and sup.status().restarts == 0
        return {
            "interval_s": interval_s, "window_s": round(elapsed, 1),
            "checks": after["health"]["checks"] - before["health"]["checks"],
            "group_cpu_s": round(cpu1 - cpu0, 3),
            "prober_thread_cpu_s": round(after["health"]["cpu_s"] - before["health"]["cpu_s"], 4),
            "prober_p2pd_cpu_s": round(sum(daemon.cpu_times()[:2]) - daemon_cpu0, 3),
            "prober_p2pd_rss_mib": round(daemon.memory_info().rss / 2**20, 1),
            "runtime_s": round(after["own_check_seconds"] - before["own_check_seconds"], 4),
            "latency_median_s": statistics.median(took) if took else None,
            "served_tokens": after["served_tokens"],
        }
    finally:
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        sup.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    runtime = ensure_runtime()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FARNODE_HOME"] = home
        paths = AppPaths.default()
        model = ensure_tiny_model(paths, runtime)
        idle = measure(paths, model, 1e6, args.window)  # the first check only, before the window
        busy = measure(paths, model, 1.0, args.window)
    per_check_cpu = max(0.0, busy["group_cpu_s"] - idle["group_cpu_s"]) / busy["checks"]
    per_check_runtime = busy["runtime_s"] / busy["checks"]
    result = {
        "without_checks": idle, "a_check_every_second": busy,
        "cpu_s_per_check": round(per_check_cpu, 4),
        "prober_thread_cpu_s_per_check": round(busy["prober_thread_cpu_s"] / busy["checks"], 4),
        "runtime_s_per_check": round(per_check_runtime, 5),
        f"cpu_share_of_one_core_at_{INTERVAL_S:.0f}s": round(per_check_cpu / INTERVAL_S, 6),
        f"served_capacity_share_at_{INTERVAL_S:.0f}s": round(per_check_runtime / INTERVAL_S, 7),
        "idle_group_cpu_share_of_one_core": round(idle["group_cpu_s"] / idle["window_s"], 4),
    }
    out = REPO / "benchmarks" / "results" / "health_check.json"
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
