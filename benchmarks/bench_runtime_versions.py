"""Served tokens/s of the node runtime on transformers 5 vs the one on transformers 4.43.1, same tiny model, one run.

Two sides, each a node runtime with the FarMesh code that runs on it: "old" (a runtime installed from the lock
before issue 21, transformers 4.43.1, with the mesh code of a checkout from before the port, --old-src) and "new"
(this checkout's runtime, FARNODE_RUNTIME_DIR, with this checkout's mesh code). Rounds come in pairs in alternating
order (O N, N O, ...) so both see the same machine load and neither always goes first. Each round starts
`farnode_desktop.mesh.serve` (Petals' run_server behind FarNode's bridge, the way the supervisor starts a node: its
own session, 4 blocks, float32, CPU) on that runtime, waits until it serves, then one client process of the same
runtime generates REPEAT + 1 times with a fresh client per request (as bench_serving.py does), then REPEAT + 1 times
with one warm client (greedy, BATCH x (PROMPT + NEW) tokens); served tokens/s per request is tokens x blocks / wall
seconds from the client's side, the first request of each kind not counted, and the round's figure is the median
of its requests. Both sides get the same model folder, written by the old runtime
(transformers 4.43's format, which 5.x reads). Also records whether both sides' greedy tokens agree, the machine
load around each round, and the versions each side imports.
Run: `.venv/bin/python benchmarks/bench_runtime_versions.py --old-runtime DIR --old-src DIR [--pairs 4]`; writes
benchmarks/results/runtime_versions.json (the install figures, measured separately, are carried from --install).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.node.host import minimal_env  # noqa: E402
from farnode_desktop.core.node.mesh_sources import mesh_only_view  # noqa: E402
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root  # noqa: E402

BATCH, PROMPT, NEW, REPEAT, BLOCKS = 2, 16, 32, 6, 4
RESULTS = REPO / "benchmarks" / "results" / "runtime_versions.json"

# Fresh: each request connects its own client (mesh/generate.py's generate, as bench_serving.py does). Warm: one
# client connected once makes every request, as an application that keeps its client does.
CLIENT = """
import json, os, sys, time, torch
from farnode_desktop.mesh.client import FarMeshClient
from farnode_desktop.mesh.generate import generate
model, prefix, batch, new, repeat, prompt, *peers = sys.argv[1:]
ids = [int(t) for t in prompt.split(",")]
fresh = [generate(model, peers, prefix, ids, int(new), int(batch)) for _ in range(int(repeat))]
client = FarMeshClient.connect(model, peers, dht_prefix=prefix)
warm = []
for _ in range(int(repeat)):
    started = time.perf_counter()
    out = client.generate(torch.tensor([ids] * int(batch)), max_new_tokens=int(new), do_sample=False)
    warm.append({"seconds": time.perf_counter() - started, "tokens": out.tolist()})
print("FARMESH-RESULT " + json.dumps({"fresh": [{"seconds": r["seconds"], "tokens": r["tokens"]} for r in fresh],
                                      "warm": warm}), flush=True)
sys.stderr.flush()
os._exit(0)
"""
VERSIONS = """
import json
from importlib import metadata
print(json.dumps({n: metadata.version(n) for n in ("torch", "transformers", "huggingface-hub", "accelerate", "peft",
                                                   "numpy", "tokenizers", "hivemind", "petals")}))
"""
MAKE_MODEL = """
import sys
from farnode_desktop.mesh.tinymodel import make_tiny_llama
make_tiny_llama(__import__("pathlib").Path(sys.argv[1]))
"""


class Side:
    """A runtime's Python and the folder with the FarMesh code it runs (on its PYTHONPATH)."""

    def __init__(self, name: str, python: Path, source: Path) -> None:
        self.name, self.python, self.source = name, python, source

    def env(self) -> dict[str, str]:
        return minimal_env({"PYTHONPATH": str(self.source), "HF_HUB_OFFLINE": "1",
                            "PETALS_IGNORE_DEPENDENCY_VERSION": "1"})

    def run(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run([str(self.python), *args], capture_output=True, text=True, env=self.env(),
                              timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {args[:2]} failed:\n{done.stderr[-2000:]}")
        return done.stdout


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_serving(endpoint: Path, proc: subprocess.Popen[str], timeout: float = 300) -> list[str]:
    """The server's multiaddrs once its status endpoint says it serves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            info = json.loads(endpoint.read_text())
            request = urllib.request.Request(info["url"] + "/status",
                                             headers={"Authorization": f"Bearer {info['token']}"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                status = json.loads(answer.read())
            if status["state"] == "serving" and status["multiaddrs"]:
                return list(status["multiaddrs"])
        time.sleep(1)
    raise RuntimeError("the server did not serve in time")


def one_round(side: Side, model: Path, work: Path, tag: str) -> dict[str, Any]:
    folder = work / f"{side.name}-{tag}"
    folder.mkdir()
    prefix = f"bench-{side.name}-{tag}"
    argv = [str(side.python), "-m", "farnode_desktop.mesh.serve", "--endpoint-file", str(folder / "endpoint.json"),
            "--", str(model), "--new_swarm", "--dht_prefix", prefix, "--device", "cpu", "--torch_dtype", "float32",
            "--num_blocks", str(BLOCKS), "--host_maddrs", "/ip4/127.0.0.1/tcp/0", "--throughput", "1.0",
            "--num_handlers", "2", "--identity_path", str(folder / "identity")]
    load_before = load()
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=side.env(), cwd=folder, text=True,
                                  start_new_session=True)
    try:
        started = time.monotonic()
        peers = wait_serving(folder / "endpoint.json", server)
        to_serving = time.monotonic() - started
        client = subprocess.Popen(
            [str(side.python), "-c", CLIENT, str(model), prefix, str(BATCH), str(NEW), str(REPEAT + 1),
             ",".join(str(i % 200 + 3) for i in range(PROMPT)), *peers],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=side.env(), start_new_session=True)
        results: dict[str, list[dict[str, Any]]] = {}
        try:
            assert client.stdout is not None
            for line in client.stdout:
                if line.startswith("FARMESH-RESULT "):
                    results = json.loads(line.removeprefix("FARMESH-RESULT "))
                    break
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(client.pid, signal.SIGKILL)
            client.wait()
        if not results:
            raise RuntimeError(f"{side.name}: the client gave no result")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    tokens = BATCH * (PROMPT + NEW - 1) * BLOCKS
    rates = {kind: [round(tokens / r["seconds"], 2) for r in results[kind][1:]] for kind in ("fresh", "warm")}
    return {"side": side.name, "tokens_per_s": round(statistics.median(rates["fresh"]), 2),
            "warm_tokens_per_s": round(statistics.median(rates["warm"]), 2),
            "requests_tokens_per_s": rates["fresh"], "warm_requests_tokens_per_s": rates["warm"],
            "to_serving_s": round(to_serving, 1), "load_before": load_before, "load_after": load(),
            "output": results["warm"][-1]["tokens"], "same_output_fresh_and_warm":
                results["warm"][-1]["tokens"] == results["fresh"][-1]["tokens"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-runtime", type=Path, required=True, help="a runtime installed from the old lock")
    parser.add_argument("--old-src", type=Path, required=True, help="a checkout of main before the port")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--install", type=Path, help="JSON with the install size/time figures to carry along")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    new_runtime = NodeRuntime(Path(os.environ.get("FARNODE_RUNTIME_DIR") or REPO / ".farnode-test" / "runtime"))
    old_view = mesh_only_view(args.old_src.resolve() / "farnode_desktop" / "mesh",
                              Path(tempfile.mkdtemp(prefix="old-mesh-src-")))
    sides = {"old": Side("old", NodeRuntime(args.old_runtime).python, old_view),
             "new": Side("new", new_runtime.python, mesh_source_root())}
    versions = {name: json.loads(side.run("-c", VERSIONS).strip().splitlines()[-1]) for name, side in sides.items()}
    assert versions["old"]["transformers"].startswith("4.") and versions["new"]["transformers"].startswith("5.")
    old_commit = subprocess.run(["git", "-C", str(args.old_src), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    new_commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    pairs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-runtime-versions-") as tmp:
        work = Path(tmp)
        model = work / "tiny-llama"
        sides["old"].run("-c", MAKE_MODEL, str(model))  # transformers 4.43's format: both sides read it
        for i in range(args.pairs):
            order = ("old", "new") if i % 2 == 0 else ("new", "old")
            rounds = {name: one_round(sides[name], model, work, str(i)) for name in order}
            pair = {"order": list(order), **{name: {k: v for k, v in r.items() if k != "output"}
                                             for name, r in rounds.items()},
                    "same_output": rounds["old"]["output"] == rounds["new"]["output"],
                    "ratio_new_over_old": round(rounds["new"]["tokens_per_s"] / rounds["old"]["tokens_per_s"], 3),
                    "warm_ratio_new_over_old": round(rounds["new"]["warm_tokens_per_s"]
                                                     / rounds["old"]["warm_tokens_per_s"], 3)}
            pairs.append(pair)
            print(json.dumps({k: pair[k] for k in ("order", "ratio_new_over_old", "warm_ratio_new_over_old",
                                                   "same_output")}
                             | {n: [pair[n]["tokens_per_s"], pair[n]["warm_tokens_per_s"]] for n in ("old", "new")}),
                  flush=True)
    ratios = [p["ratio_new_over_old"] for p in pairs]
    warm_ratios = [p["warm_ratio_new_over_old"] for p in pairs]
    result: dict[str, Any] = {
        "what": "served tokens/s (client side, tokens x blocks / wall s) of the node runtime on transformers 5 vs "
                "4.43.1, same tiny Llama, same machine, rounds alternated in one run",
        "command": f".venv/bin/python benchmarks/bench_runtime_versions.py --old-runtime {args.old_runtime} "
                   f"--old-src {args.old_src} --pairs {args.pairs}",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "workload": {"model": "tiny Llama (mesh/tinymodel.make_tiny_llama: hidden 64, 4 blocks, float32)",
                     "blocks": BLOCKS, "batch": BATCH, "prompt": PROMPT, "new_tokens": NEW,
                     "requests_per_round": REPEAT, "device": "cpu"},
        "versions": versions, "mesh_code": {"old": old_commit, "new": new_commit},
        "median_tokens_per_s": {name: statistics.median(p[name]["tokens_per_s"] for p in pairs)
                                for name in ("old", "new")},
        "median_ratio_new_over_old": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "warm_median_tokens_per_s": {name: statistics.median(p[name]["warm_tokens_per_s"] for p in pairs)
                                     for name in ("old", "new")},
        "warm_median_ratio_new_over_old": statistics.median(warm_ratios),
        "warm_ratio_range": [min(warm_ratios), max(warm_ratios)],
        "same_output_every_pair": all(p["same_output"] and p[n]["same_output_fresh_and_warm"]
                                      for p in pairs for n in ("old", "new")),
        "pairs": pairs,
    }
    if args.install is not None:
        result["install"] = json.loads(args.install.read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("median_tokens_per_s", "median_ratio_new_over_old", "ratio_range",
                                             "warm_median_tokens_per_s", "warm_median_ratio_new_over_old",
                                             "warm_ratio_range", "same_output_every_pair")}))


if __name__ == "__main__":
    main()
