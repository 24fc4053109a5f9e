"""Served tokens/s through the supervised FarMesh node vs a bare Petals `run_server`, same tiny model, one run.

Rounds come in pairs, one supervised and one bare, in alternating order (S B, B S, S B, ...) so both see the same
machine load and neither always goes first. Each round starts a server, sends the same inference workload through a
real FarMesh client, and measures served tokens/s from the client's side (tokens x blocks / wall seconds) for each
request; the round's figure is the median over its requests (the first, which warms up the route, is not counted),
so a few seconds of someone else's load on a shared machine do not decide a round. The result is the median of the
per-pair ratios (supervised / bare) with their quartiles and range. Also reports the time from `start` to `serving`
and the CPU the supervisor itself spent (in this process) while the workload ran.

Wall-clock rates swing with other work on a shared machine, so the same rounds also measure the CPU cost per served
token, which load moves far less: the CPU time (user + system, with reaped children's) of every process in the
server's process group (the server, its DHT child, p2pd; each side's server runs in its own session) from just before
the first counted request to just after the last (the client waits at both points while this is read; a process that
appears in between counts from 0), plus, for the supervised side, this process's own CPU over the same window: the
supervisor's ticks, its reading of the server's output and its other threads (the client runs in its own process, and
this process's main thread only waits on it). The bare side's output drain thread here is not counted. Served tokens
per CPU-second per round; the per-pair ratio supervised / bare is > 1 when the supervised node is cheaper.
Run: `.venv/bin/python benchmarks/bench_serving.py [--rounds 12]`; writes benchmarks/results/serving.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.node.factory import dht_prefix_for, ensure_tiny_model, make_supervisor  # noqa: E402
from farnode_desktop.core.node.host import OsProcessHost, minimal_env  # noqa: E402
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root  # noqa: E402
from farnode_desktop.core.node.spec import NodeSpec  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.node.supervisor import SupervisorPolicy  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from tests.runtime_env import ensure_runtime  # noqa: E402

BATCH, PROMPT, NEW, REPEAT, BLOCKS = 4, 16, 32, 8, 4
DEVICE = "cpu"  # --device cuda on a GPU machine (scripts/gpu_check.sh)


def dtype() -> str:
    return "float32" if DEVICE == "cpu" else "float16"


# The client (mesh/generate.py's generate, once per request) stops before the first counted request and after the
# last until told to go on, so the CPU read at those points covers exactly the counted requests.
CLIENT = """
import json, os, sys
from farnode_desktop.mesh.generate import generate
model, prefix, batch, new, repeat, prompt, *peers = sys.argv[1:]
results = []
for i in range(int(repeat)):
    if i == 1:
        print("FARMESH-COUNTED", flush=True)
        sys.stdin.readline()
    results.append(generate(model, peers, prefix, [int(t) for t in prompt.split(",")], int(new), int(batch)))
print("FARMESH-DONE", flush=True)
sys.stdin.readline()
print("FARMESH-RESULT " + json.dumps([{"seconds": r["seconds"]} for r in results]), flush=True)
sys.stderr.flush()
os._exit(0)
"""
TOKENS = BATCH * (PROMPT + NEW - 1)  # per request, per block


def group_cpu(pgid: int) -> dict[tuple[int, float], float]:
    """CPU seconds (user + system, plus reaped children's) of each live process in the group, by (pid, start time)."""
    out = {}
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            t = proc.cpu_times()
            out[(proc.pid, proc.create_time())] = t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, ProcessLookupError):
            continue
    return out


def own_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


class CpuWindow:
    """The server group's CPU (and, for the supervised side, this process's) between start() and end()."""

    def __init__(self, server_pid: int, count_this_process: bool) -> None:
        self.pgid = os.getpgid(server_pid)
        self.count_this_process = count_this_process
        self.group_s = self.this_process_s = 0.0
        self.ended_in_window = self.processes = 0
        self.wall_s = 0.0

    def start(self) -> None:
        self._group = group_cpu(self.pgid)
        self._own = own_cpu()  # read last: the group scan above is not counted
        self._began = time.monotonic()

    def end(self) -> None:
        self.wall_s = time.monotonic() - self._began
        own = own_cpu()  # read first: the group scan below is not counted
        group = group_cpu(self.pgid)
        # a process that ended in the window: its start figure is taken off, and what it ran is counted only if a
        # group member reaped it (children's times); reported so a run where that happened can be judged
        self.ended_in_window = len(self._group.keys() - group.keys())
        self.processes = len(group)
        self.group_s = sum(group.values()) - sum(self._group.values())
        self.this_process_s = own - self._own if self.count_this_process else 0.0

    def tokens_per_cpu_s(self) -> float:
        return REPEAT * TOKENS * BLOCKS / (self.group_s + self.this_process_s)


def workload(runtime: NodeRuntime, model: str, peers: list[str], prefix: str,
             window: CpuWindow | None = None) -> list[float]:
    """Served tokens/s of each of REPEAT generations (the first, which warms up the route, is not counted)."""
    argv = [str(runtime.python), "-c", CLIENT, model, prefix, str(BATCH), str(NEW), str(REPEAT + 1),
            ",".join(str(i % 200 + 1) for i in range(PROMPT)), *peers]
    env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1",
                       "PETALS_IGNORE_DEPENDENCY_VERSION": "1"})
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, start_new_session=True)
    marks: dict[str, Callable[[], None]] = {"FARMESH-COUNTED": window.start if window else lambda: None,
                                            "FARMESH-DONE": window.end if window else lambda: None}
    try:
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            if line.rstrip() in marks:
                marks[line.rstrip()]()
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif line.startswith("FARMESH-RESULT "):
                results = json.loads(line.removeprefix("FARMESH-RESULT "))[1:]
                break
        else:
            raise RuntimeError("the client produced no result")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return [TOKENS * BLOCKS / r["seconds"] for r in results]


def supervised_round(runtime: NodeRuntime, model: Path, home: Path) -> tuple[list[float], float, float, CpuWindow]:
    paths = AppPaths.under(home)
    spec = NodeSpec(name="bench", model=str(model), dht_prefix=dht_prefix_for(str(model)), new_swarm=True,
                    listen_host="127.0.0.1", device=DEVICE, num_blocks=BLOCKS, torch_dtype=dtype(),
                    throughput="1.0", num_handlers=2)
    sup = make_supervisor(spec, paths, EventBus(), runtime, policy=SupervisorPolicy(stop_grace_s=15))
    started = time.monotonic()
    sup.start()
    assert sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 300) is NodeState.SERVING
    to_serving = time.monotonic() - started
    sup.wait_until(lambda s: bool(sup.status().multiaddrs), 30)
    status = sup.status()
    server_pid = sup.server_pid
    assert server_pid is not None
    window = CpuWindow(server_pid, count_this_process=True)
    # the supervisor keeps ticking (status probes, p2pd checks) while the workload runs, as in the app
    import threading

    done = threading.Event()
    cpu: list[float] = []

    def tick() -> None:
        started_cpu = time.thread_time()
        while not done.is_set():
            sup.transition(time.monotonic())
            time.sleep(0.5)
        cpu.append(time.thread_time() - started_cpu)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    began = time.monotonic()
    try:
        rates = workload(runtime, str(model), status.multiaddrs, spec.dht_prefix or "", window)
    finally:
        done.set()
        ticker.join()
        ticked_s = time.monotonic() - began
        sup.stop()
        sup.wait_until(lambda s: s is NodeState.STOPPED, 60)
        sup.close()
    return rates, to_serving, cpu[0] / ticked_s, window


def bare_round(runtime: NodeRuntime, model: Path, home: Path) -> tuple[list[float], float, CpuWindow]:
    """Petals' own run_server with only the hivemind bridge it needs to import (no counters, no status, no supervisor)."""
    port = OsProcessHost().free_port()
    prefix = dht_prefix_for(str(model))
    code = "from farnode_desktop.mesh import bridge; bridge.install(); from petals.cli import run_server; run_server.main()"
    argv = [str(runtime.python), "-c", code, str(model), "--dht_prefix", prefix, "--new_swarm", "--device", DEVICE,
            "--torch_dtype", dtype(), "--host_maddrs", f"/ip4/127.0.0.1/tcp/{port}", "--num_blocks", str(BLOCKS),
            "--throughput", "1.0", "--num_handlers", "2", "--identity_path", str(home / "bare.id")]
    env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1",
                       "PETALS_IGNORE_DEPENDENCY_VERSION": "1"})
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # its own session, so its process group (server, DHT child, p2pd) is what the CPU figure reads
    proc = subprocess.Popen(argv, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    window = CpuWindow(proc.pid, count_this_process=False)
    peer = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Running a server on [" in line:
                peer = line.split("['", 1)[1].split("'", 1)[0]
            if line.rstrip().endswith("[INFO] Started"):
                break
        to_serving = time.monotonic() - started
        assert peer is not None
        import threading

        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        rates = workload(runtime, str(model), [peer], prefix, window)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the DHT child and p2pd too
    return rates, to_serving, window


def quartiles(values: list[float]) -> list[float]:
    return [round(q, 3) for q in statistics.quantiles(values, n=4)] if len(values) > 1 else [round(values[0], 3)] * 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of rounds (one supervised, one bare each)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", type=Path, help="a model folder (default: the tiny demo model)")
    parser.add_argument("--blocks", type=int, default=4, help="blocks to serve (all of the model's)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "serving.json")
    args = parser.parse_args()
    global DEVICE, BLOCKS
    DEVICE, BLOCKS = args.device, args.blocks
    runtime = ensure_runtime()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="farnode-bench-") as tmp:
        root = Path(tmp)
        model = args.model or ensure_tiny_model(AppPaths.under(root / "models"), runtime)
        supervised, bare, starts, bare_starts, sup_cpu, loads = [], [], [], [], [], []
        sup_requests, bare_requests = [], []
        sup_windows: list[CpuWindow] = []
        bare_windows: list[CpuWindow] = []
        for i in range(args.rounds):
            for side in ("supervised", "bare") if i % 2 == 0 else ("bare", "supervised"):
                if side == "supervised":
                    rates, start, cpu_share, window = supervised_round(runtime, model, root / f"sup{i}")
                    sup_windows.append(window)
                    supervised.append(statistics.median(rates))
                    sup_requests.append([round(r, 1) for r in rates])
                    starts.append(start)
                    sup_cpu.append(cpu_share)
                else:
                    rates, start, window = bare_round(runtime, model, root / f"bare{i}")
                    bare_windows.append(window)
                    bare.append(statistics.median(rates))
                    bare_requests.append([round(r, 1) for r in rates])
                    bare_starts.append(start)
            loads.append(os.getloadavg()[0])
            print(f"pair {i + 1}: supervised {supervised[-1]:.1f} tok/s, bare {bare[-1]:.1f} tok/s, "
                  f"ratio {supervised[-1] / bare[-1]:.3f} (load {loads[-1]:.1f}); per CPU-second: supervised "
                  f"{sup_windows[-1].tokens_per_cpu_s():.0f}, bare {bare_windows[-1].tokens_per_cpu_s():.0f} tokens, "
                  f"ratio {sup_windows[-1].tokens_per_cpu_s() / bare_windows[-1].tokens_per_cpu_s():.3f}", flush=True)
    ratios = [s / b for s, b in zip(supervised, bare, strict=True)]
    sup_per_cpu = [w.tokens_per_cpu_s() for w in sup_windows]
    bare_per_cpu = [w.tokens_per_cpu_s() for w in bare_windows]
    cpu_ratios = [s / b for s, b in zip(sup_per_cpu, bare_per_cpu, strict=True)]
    result = {
        "workload": {"batch": BATCH, "prompt_tokens": PROMPT, "new_tokens": NEW, "requests_per_round": REPEAT,
                     "blocks": BLOCKS, "device": DEVICE,
                     "model": str(args.model) if args.model else "tiny random Llama (4 blocks, hidden 64)"},
        "method": "pairs in alternating order; a round's figure is the median of its requests' tokens/s; "
                  "the ratio is the median of the per-pair ratios",
        "pairs": args.rounds,
        "supervised_tokens_per_s": [round(x, 1) for x in supervised],
        "bare_tokens_per_s": [round(x, 1) for x in bare],
        "per_pair_ratio": [round(x, 3) for x in ratios],
        "median_supervised": round(statistics.median(supervised), 1),
        "median_bare": round(statistics.median(bare), 1),
        "ratio_supervised_over_bare": round(statistics.median(ratios), 3),
        "ratio_quartiles": quartiles(ratios),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "ratio_of_medians": round(statistics.median(supervised) / statistics.median(bare), 3),
        "supervisor_cpu_share_of_a_core": round(statistics.median(sup_cpu), 4),
        "cpu_method": "served tokens (as above, x blocks) of the counted requests / CPU-s (user + system, with reaped "
                      "children's) of the server's process group (server, DHT child, p2pd) from just before the first "
                      "counted request to just after the last (client connects, generations, idle between them); "
                      "supervised adds this benchmark process's CPU over the same window (supervisor ticks, output "
                      "reader, other threads; the client is a separate process); ratio > 1: supervised is cheaper",
        "supervised_tokens_per_cpu_s": [round(x, 1) for x in sup_per_cpu],
        "bare_tokens_per_cpu_s": [round(x, 1) for x in bare_per_cpu],
        "per_pair_cpu_ratio": [round(x, 3) for x in cpu_ratios],
        "median_supervised_tokens_per_cpu_s": round(statistics.median(sup_per_cpu), 1),
        "median_bare_tokens_per_cpu_s": round(statistics.median(bare_per_cpu), 1),
        "cpu_ratio_supervised_over_bare": round(statistics.median(cpu_ratios), 3),
        "cpu_ratio_quartiles": quartiles(cpu_ratios),
        "cpu_ratio_range": [round(min(cpu_ratios), 3), round(max(cpu_ratios), 3)],
        "supervised_cpu_s_server_group": [round(w.group_s, 2) for w in sup_windows],
        "supervised_cpu_s_supervisor_process": [round(w.this_process_s, 3) for w in sup_windows],
        "bare_cpu_s_server_group": [round(w.group_s, 2) for w in bare_windows],
        "supervised_window_s": [round(w.wall_s, 1) for w in sup_windows],
        "bare_window_s": [round(w.wall_s, 1) for w in bare_windows],
        "group_processes_supervised_then_bare": [w.processes for w in (*sup_windows, *bare_windows)],
        "processes_ended_in_window": [w.ended_in_window for w in (*sup_windows, *bare_windows)],
        "start_to_serving_s": [round(x, 1) for x in starts],
        "bare_start_to_started_s": [round(x, 1) for x in bare_starts],
        "load_average_after_each_pair": [round(x, 1) for x in loads],
        "supervised_requests_tokens_per_s": sup_requests,
        "bare_requests_tokens_per_s": bare_requests,
        "wall_minutes": round((time.monotonic() - started) / 60, 1),
        "machine": f"{os.cpu_count()} CPU cores" + (", no GPU" if DEVICE == "cpu" else ", serving on the GPU"),
    }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("requests_tokens_per_s")}, indent=2))


if __name__ == "__main__":
    main()
