"""The GPU check's steps (scripts/gpu_check.sh runs them in order; each writes JSON into the output folder).

    python scripts/gpu_check.py STEP OUT [--device cuda|cpu]

Steps: runtime (the node runtime's own check: imports, versions, CUDA), quant (bitsandbytes nf4/int8 on the GPU
vs fp16), tiny (a tiny model served through the supervised node on the GPU, greedy output compared with local
transformers), exact8b (two blocks of a Llama 3.1 8B-shaped model served in float32, output compared with local
transformers), planned (a Llama 3.1 8B-shaped model: blocks planned from the GPU's real free memory while another
process holds most of it, served, a client generates, NVML recorded while serving), game (a stand-in game takes the
GPU from a serving node: games-first pauses it; the seconds until the node's memory is free again).
`--device cpu` runs the same flow on a CPU, to check the script itself where no GPU is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.clock import SystemClock  # noqa: E402
from farnode_desktop.core.events import Event, EventBus  # noqa: E402
from farnode_desktop.core.gpus.catalog import ModelSpec, block_params  # noqa: E402
from farnode_desktop.core.gpus.nvml import GIB, GpuReader, read_inventory  # noqa: E402
from farnode_desktop.core.gpus.planner import plan_blocks  # noqa: E402
from farnode_desktop.core.node.factory import dht_prefix_for, ensure_tiny_model, make_supervisor  # noqa: E402
from farnode_desktop.core.node.host import minimal_env  # noqa: E402
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root  # noqa: E402
from farnode_desktop.core.node.spec import NodeSpec  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.node.supervisor import SupervisorPolicy  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from farnode_desktop.core.pausing.games_first import GamesFirst, process_tree  # noqa: E402
from farnode_desktop.core.settings import Settings  # noqa: E402
from tests.runtime_env import ensure_runtime, run_generate  # noqa: E402

# Llama 3.1 8B's published config, fewer layers: real-sized blocks, llama3 RoPE, GQA (32 heads, 8 kv heads).
LLAMA31_8B: dict[str, Any] = {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
              "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
              "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}

QUANT = r"""
import json, sys, torch, bitsandbytes as bnb
torch.manual_seed(0)
dev = sys.argv[1]
x = torch.randn(8, 4096, dtype=torch.float16, device=dev)
ref = torch.nn.Linear(4096, 4096, bias=False).half()
want = (x @ ref.weight.to(dev).T).float()
out = {}
for kind in ("nf4", "int8"):
    if kind == "nf4":
        q = bnb.nn.LinearNF4(4096, 4096, bias=False, compress_statistics=True)
        q.weight = bnb.nn.Params4bit(ref.weight.data.clone(), requires_grad=False, quant_type="nf4", blocksize=64,
                                     compress_statistics=True)
    else:
        q = bnb.nn.Linear8bitLt(4096, 4096, bias=False, has_fp16_weights=False, threshold=6.0)
        q.weight = bnb.nn.Int8Params(ref.weight.data.clone(), requires_grad=False, has_fp16_weights=False)
    got = q.to(dev)(x).float()
    out[kind] = {"relative_error": float((got - want).norm() / want.norm())}
import bitsandbytes.cextension as ce
out["library"] = getattr(ce.lib, "_name", None) or str(getattr(ce, "BNB_BACKEND", ""))
print(json.dumps(out))
"""

MAKE = r"""
import json, sys, torch
from pathlib import Path
from transformers import AutoConfig, AutoModelForCausalLM
folder, layers, shape = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
torch.manual_seed(0)
config = AutoConfig.for_model(shape.pop("model_type"), num_hidden_layers=layers, **shape)
model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
model.save_pretrained(str(folder), safe_serialization=True)
"""

HOLD = r"""
import sys, time, torch
leave = int(float(sys.argv[1]) * 2**30)
free, total = torch.cuda.mem_get_info()
held = torch.empty(max(0, free - leave), dtype=torch.uint8, device="cuda")  # a game holding the rest
print(f"holding {held.numel() / 2**30:.1f} GiB, {torch.cuda.mem_get_info()[0] / 2**30:.1f} GiB left free", flush=True)
time.sleep(3600)
"""


GAME = r"""
import sys, time, torch
hold = torch.empty(int(float(sys.argv[1]) * 2**30), dtype=torch.uint8, device="cuda")  # a game's textures
a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
print("playing", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:  # and its frames: the GPU busy
    b = a @ a
    torch.cuda.synchronize()
"""
GAMES_FIRST_PERIOD_S = 1.0  # how often the app's core ticks games-first (core/app_core.py)
# Problems the runtime's own check reports on the lent image that are the image's, not the node's: its Python is
# 3.12 and it brings its own torch, triton and CUDA libraries (scripts/device_wheels.py carries the rest).
IMAGE_PYTHON = re.compile(r"^the runtime's Python is 3\.12")
LOCK_VERSION = re.compile(r"^(\S+) is \S+, the lock says \S+$")


def runtime_python(runtime: NodeRuntime, code: str, *args: str, timeout: float = 1200) -> str:
    env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1"})
    out = subprocess.run([str(runtime.python), "-c", code, *args], capture_output=True, text=True, env=env,
                         timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def serve(runtime: NodeRuntime, spec: NodeSpec, home: Path, work: Any) -> Any:
    """Run `work(status, seconds_to_serving, supervisor)` against the supervised node; returns its result, always
    stops the node."""
    sup = make_supervisor(spec, AppPaths.under(home), EventBus(), runtime, policy=SupervisorPolicy(stop_grace_s=20))
    started = time.monotonic()
    sup.start()
    state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 900)
    if state is not NodeState.SERVING:
        raise RuntimeError(f"the node did not serve: {sup.status().reason}\n" + "\n".join(sup.status().log_lines[-30:]))
    sup.wait_until(lambda s: bool(sup.status().multiaddrs), 60)
    try:
        return work(sup.status(), time.monotonic() - started, sup)
    finally:
        sup.stop()
        sup.wait_until(lambda s: s is NodeState.STOPPED, 120)
        sup.close()


def step_runtime(runtime: NodeRuntime, out: Path, device: str) -> dict[str, Any]:
    """The runtime's own check; on the lent image (an overlay, see gpu_check_overlay.py) the image's own Python and
    packages are expected to differ from the lock, every carried package must be the lock's."""
    report = runtime.check()
    body: dict[str, Any] = report.to_json()
    try:
        marker = json.loads((runtime.location / "farnode-runtime.json").read_text())
    except (OSError, ValueError):
        marker = {}
    unexpected = list(report.problems)
    if "device_image" in marker:
        sys.path.insert(0, str(REPO / "scripts"))
        from device_wheels import carried, normalize

        ours = carried()

        def the_images(problem: str) -> bool:
            m = LOCK_VERSION.match(problem)
            return bool(IMAGE_PYTHON.match(problem) or (m and normalize(m.group(1)) not in ours))

        body["device_image"] = marker["device_image"]
        body["expected_on_image"] = [p for p in report.problems if the_images(p)]
        unexpected = [p for p in report.problems if not the_images(p) and not p.startswith("pip check")]
    body["unexpected_problems"] = unexpected
    body["ok"] = report.installed and not unexpected and (device != "cuda" or report.cuda_available)
    return body


def step_quant(runtime: NodeRuntime, out: Path, device: str) -> dict[str, Any]:
    if device != "cuda":
        return {"skipped": "bitsandbytes' nf4/int8 kernels need the GPU"}
    body: dict[str, Any] = json.loads(runtime_python(runtime, QUANT, device))
    body["ok"] = body["nf4"]["relative_error"] < 0.2 and body["int8"]["relative_error"] < 0.05
    return body


def step_tiny(runtime: NodeRuntime, out: Path, device: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        model = ensure_tiny_model(AppPaths.under(Path(tmp) / "m"), runtime)
        spec = NodeSpec(name="tiny", model=str(model), dht_prefix=dht_prefix_for(str(model)), new_swarm=True,
                        listen_host="127.0.0.1", device=device, num_blocks=4, torch_dtype="float32",
                        quant_type="none", throughput="1.0")

        def work(status: Any, to_serving: float, _sup: Any) -> dict[str, Any]:
            result = run_generate(runtime, str(model), status.multiaddrs, spec.dht_prefix, compare_local=True)
            return {"to_serving_s": round(to_serving, 1), "client": result}

        body: dict[str, Any] = serve(runtime, spec, Path(tmp) / "home", work)
    body["ok"] = body["client"]["tokens"] == body["client"]["local_tokens"]
    return body


def step_exact8b(runtime: NodeRuntime, out: Path, device: str) -> dict[str, Any]:
    """Two real-sized blocks of a Llama 3.1 8B-shaped model (llama3 RoPE, GQA, 128k vocabulary) served in float32:
    the client's greedy tokens must equal local transformers' (the planned step serves quantised, so it cannot)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Llama-3.1-8B-shaped-2"
        shape = dict(LLAMA31_8B)
        if device == "cpu":
            shape.update(vocab_size=1024, hidden_size=256, intermediate_size=512, num_attention_heads=8,
                         num_key_value_heads=2)
        runtime_python(runtime, MAKE, str(folder), "2", json.dumps(shape))
        spec = NodeSpec(name="exact8b", model=str(folder), dht_prefix=dht_prefix_for(str(folder)), new_swarm=True,
                        listen_host="127.0.0.1", device=device, num_blocks=2, torch_dtype="float32",
                        quant_type="none", throughput="1.0")

        def work(status: Any, to_serving: float, _sup: Any) -> dict[str, Any]:
            result = run_generate(runtime, str(folder), status.multiaddrs, spec.dht_prefix, new_tokens=8,
                                  compare_local=True, timeout=600)
            return {"to_serving_s": round(to_serving, 1), "client": result}

        body: dict[str, Any] = serve(runtime, spec, Path(tmp) / "home", work)
    got, want = body["client"]["tokens"], body["client"]["local_tokens"]
    body["same_positions"] = sum(a == b for a, b in zip(got[0], want[0], strict=False))
    body["ok"] = got == want
    return body


def step_game(runtime: NodeRuntime, out: Path, device: str, game_gib: float) -> dict[str, Any]:
    """A node serves the tiny model on the GPU; a stand-in game (another process: memory and busy kernels) starts;
    games-first, ticked as the app ticks it with the app's defaults and real NVML readings, pauses the node. Times
    from the game's start to the pause and to the node's memory being free again (gpu.vram_freed)."""
    if device != "cuda":
        return {"skipped": "games-first reads the GPU through NVML"}
    with tempfile.TemporaryDirectory() as tmp:
        model = ensure_tiny_model(AppPaths.under(Path(tmp) / "m"), runtime)
        spec = NodeSpec(name="game", model=str(model), dht_prefix=dht_prefix_for(str(model)), new_swarm=True,
                        listen_host="127.0.0.1", device="cuda", num_blocks=4, torch_dtype="float16",
                        quant_type="none", throughput="1.0")

        def work(status: Any, to_serving: float, sup: Any) -> dict[str, Any]:
            reader = GpuReader()
            bus = EventBus()
            seen: list[tuple[float, Event]] = []
            bus.subscribe(lambda e: seen.append((time.monotonic(), e)), "gpu.")
            games_first = GamesFirst(bus, SystemClock(), Settings, reader.inventory, lambda: {0: sup})
            pids = process_tree(status.pid)
            before = reader.inventory().gpus[0]
            node_bytes = sum(p.used_bytes or 0 for p in before.compute_processes if p.pid in pids)
            env = minimal_env({"PYTHONPATH": str(mesh_source_root())})
            game = subprocess.Popen([str(runtime.python), "-c", GAME, str(game_gib), "180"], stdout=subprocess.PIPE,
                                    text=True, env=env)
            assert game.stdout is not None
            game.stdout.readline()
            started = time.monotonic()
            try:
                while time.monotonic() - started < 120:
                    games_first.tick()
                    if any(e.topic in ("gpu.vram_freed", "gpu.vram_not_freed") for _, e in seen):
                        break
                    time.sleep(GAMES_FIRST_PERIOD_S)
                after = reader.inventory().gpus[0]
            finally:
                game.kill()
                game.wait()
                reader.close()
            at = {e.topic: t - started for t, e in seen}
            return {"node_bytes_before": node_bytes, "game_gib": game_gib, "tick_s": GAMES_FIRST_PERIOD_S,
                    "events": [{"topic": e.topic, "after_s": round(t - started, 2), "reason": e.reason}
                               for t, e in seen],
                    "to_pause_s": round(at["gpu.paused"], 2) if "gpu.paused" in at else None,
                    "to_memory_free_s": round(at["gpu.vram_freed"], 2) if "gpu.vram_freed" in at else None,
                    "node_state_after": sup.status().state.value,
                    "node_processes_left": [p.pid for p in after.compute_processes if p.pid in pids]}

        body: dict[str, Any] = serve(runtime, spec, Path(tmp) / "home", work)
    body["ok"] = body["to_memory_free_s"] is not None and not body["node_processes_left"]
    return body


def step_planned(runtime: NodeRuntime, out: Path, device: str, leave_gib: float, layers: int) -> dict[str, Any]:
    """Plan a 32-layer Llama 3.1 8B-shaped model for the memory left free, make a model of exactly the planned
    blocks (so one server holds them all and a client can generate), serve it, generate."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Llama-3.1-8B-shaped"
        shape = dict(LLAMA31_8B)
        if device == "cpu":  # the script's own check on a CPU: the same flow with small blocks
            shape.update(vocab_size=1024, hidden_size=256, intermediate_size=512, num_attention_heads=8,
                         num_key_value_heads=2)
        spec_model = ModelSpec(name=folder.name, display="Llama 3.1 8B-shaped", family="llama", num_layers=layers,
                               hidden_size=shape["hidden_size"], intermediate_size=shape["intermediate_size"],
                               num_attention_heads=shape["num_attention_heads"],
                               num_key_value_heads=shape["num_key_value_heads"],
                               kv_groups=shape["num_attention_heads"] // shape["num_key_value_heads"],
                               params_per_block=0, dtype="bfloat16", cpu_ok=device == "cpu")
        spec_model = ModelSpec(**{**spec_model.__dict__, "params_per_block": block_params(spec_model)})
        holder = None
        if device == "cuda":
            env = minimal_env({"PYTHONPATH": str(mesh_source_root())})
            holder = subprocess.Popen([str(runtime.python), "-c", HOLD, str(leave_gib)], stdout=subprocess.PIPE,
                                      text=True, env=env)
            assert holder.stdout is not None
            held = holder.stdout.readline().strip()
        try:
            if device == "cuda":
                gpu = read_inventory().gpus[0]
                free, total = gpu.free_bytes, gpu.total_bytes
            else:
                free, total, held = 4 * GIB, 4 * GIB, "no GPU: 4 GiB assumed"
            plan = plan_blocks(spec_model, free, total_bytes=total, device=device, headroom_gib=1.0,
                               quantization="auto" if device == "cuda" else "none",
                               dtype="float16" if device == "cuda" else "float32")
            if plan.ok:
                runtime_python(runtime, MAKE, str(folder), str(plan.num_blocks), json.dumps(shape))
            spec = NodeSpec(name="planned", model=str(folder), dht_prefix=dht_prefix_for(str(folder)),
                            new_swarm=True, listen_host="127.0.0.1", device=device, num_blocks=plan.num_blocks,
                            torch_dtype=plan.dtype, quant_type=plan.quant, throughput="1.0")

            def work(status: Any, to_serving: float, _sup: Any) -> dict[str, Any]:
                snapshot = out / "nvml_serving.json"
                if device == "cuda":
                    subprocess.run([sys.executable, str(REPO / "scripts" / "record_nvml_snapshot.py"), str(snapshot),
                                    "--note", f"serving {plan.num_blocks} planned blocks of a Llama 3.1 8B-shaped "
                                    f"model ({plan.quant}) while another process holds memory"], check=True)
                result = run_generate(runtime, str(folder), status.multiaddrs, spec.dht_prefix, new_tokens=8,
                                      timeout=900)
                return {"to_serving_s": round(to_serving, 1), "client": result}

            body: dict[str, Any] = {"held": held, "plan": plan.to_json(), "plan_lines": plan.lines()}
            body.update(serve(runtime, spec, Path(tmp) / "home", work) if plan.ok else {"not_served": "no block fits"})
        finally:
            if holder is not None:
                holder.kill()
                holder.wait()
    body["ok"] = plan.ok and "client" in body
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=("runtime", "quant", "tiny", "exact8b", "planned", "game"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--leave-gib", type=float, default=3.0, help="planned: free memory left by the holder")
    parser.add_argument("--layers", type=int, default=32, help="planned: at most this many blocks")
    parser.add_argument("--game-gib", type=float, default=4.0, help="game: GPU memory the stand-in game takes")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FARNODE_RUNTIME_LOCK", "lock-linux-x86_64.txt")
    runtime = ensure_runtime()
    if args.step == "runtime":
        body = step_runtime(runtime, args.out, args.device)
    elif args.step == "quant":
        body = step_quant(runtime, args.out, args.device)
    elif args.step == "tiny":
        body = step_tiny(runtime, args.out, args.device)
    elif args.step == "exact8b":
        body = step_exact8b(runtime, args.out, args.device)
    elif args.step == "game":
        body = step_game(runtime, args.out, args.device, args.game_gib)
    else:
        body = step_planned(runtime, args.out, args.device, args.leave_gib, args.layers)
    (args.out / f"{args.step}.json").write_text(json.dumps(body, indent=2, default=str) + "\n")
    print(json.dumps({"step": args.step, "ok": body.get("ok")}))
    sys.exit(0 if body.get("ok", True) else 1)


if __name__ == "__main__":
    main()
