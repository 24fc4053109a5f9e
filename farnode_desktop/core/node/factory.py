"""Builds node specs and supervisors from what the provider asked for: model, swarm, blocks, device."""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.checked_files import read_json_object
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.gpus.planner import BlockPlan
from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.model_check import refuse_unloadable
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.spec import NativeBackend, NodeSpec
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths

TINY_DEMO = "farlabs/tiny-demo"


def ensure_tiny_model(paths: AppPaths, runtime: NodeRuntime) -> Path:
    """The demo model is generated locally by the runtime (random weights, 4 blocks): nothing to download."""
    folder = paths.models / "tiny-demo"
    if (folder / "config.json").exists():
        return folder
    env = minimal_env({"PYTHONPATH": str(mesh_source_root())})
    result = subprocess.run([str(runtime.python), "-m", "farnode_desktop.mesh.tinymodel", str(folder)],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    if result.returncode != 0:
        raise FarNodeError(f"could not create the demo model: {result.stderr.strip()[-300:]}",
                           hint="check the node runtime with `farnode runtime check`")
    return folder


def resolve_model(model: str, paths: AppPaths, runtime: NodeRuntime) -> tuple[str, int | None]:
    """A model the server can load: (path or repo id, number of blocks if known locally)."""
    if model == TINY_DEMO:
        if not runtime.is_installed():
            raise FarNodeError("the node runtime is not installed", hint="run `farnode runtime install`")
        folder = ensure_tiny_model(paths, runtime)
        return str(folder), _local_layers(folder)
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise UserInputError(f"{path} is not a model folder (it has no config.json)",
                                 hint="point --model at a folder made by save_pretrained, or use a catalog name")
        return str(path.resolve()), _local_layers(path)
    if model.startswith(("/", ".", "~")) or not re.fullmatch(r"[\w.-]+/[\w.-]+", model):
        raise UserInputError(f"model {model!r} is neither a model folder on this PC nor a model name",
                             hint="use a catalog name like meta-llama/Meta-Llama-3.1-70B-Instruct (see `farnode plan`)")
    return model, None


def _local_layers(folder: Path) -> int | None:
    try:
        config = read_json_object(folder / "config.json")
        layers = config.get("num_hidden_layers") or config.get("n_layer") or 0
        return layers if isinstance(layers, int) and not isinstance(layers, bool) and 0 < layers <= 100_000 else None
    except (OSError, ValueError):
        return None


# config.json `model_type` -> the Petals family whose config class derives the DHT prefix.
_FAMILIES = {"llama": "llama", "bloom": "bloom", "falcon": "falcon", "RefinedWeb": "falcon",
             "RefinedWebModel": "falcon", "mixtral": "mixtral"}


def petals_dht_prefix(name: str, family: str) -> str:
    """The DHT prefix Petals' own client derives from a model name (petals/models/<family>/config.py
    `from_pretrained`), so that a server announces exactly where clients loading that name look."""
    if family == "bloom":  # the whole repo id, `-petals` added: bigscience/bloom-560m -> bigscience/bloom-560m-petals
        return (name + "-petals").replace(".", "-")
    if family == "mixtral":  # the whole repo id (Petals main's mixtral config)
        return name.replace(".", "-")
    prefix = name.rsplit("/", maxsplit=1)[-1].replace(".", "-")  # llama, falcon: the repo name only, dots replaced
    if family == "llama" and not prefix.endswith("-hf"):
        prefix += "-hf"
    return prefix


def model_family(folder: Path) -> str:
    """The Petals family of a local model folder, from its config.json (llama if it cannot be read)."""
    try:
        config = read_json_object(folder / "config.json")
    except (OSError, ValueError):
        return "llama"
    return _FAMILIES.get(str(config.get("model_type", "")), str(config.get("model_type", "llama")))


def dht_prefix_for(model_path: str) -> str:
    """Petals' prefix for a model folder (its name taken as the repo name) or a repo id (llama rule if unknown)."""
    path = Path(model_path)
    if path.exists():
        return petals_dht_prefix(path.name, model_family(path))
    return petals_dht_prefix(model_path, "llama")


@dataclass(frozen=True)
class Swarm:
    """Which swarm a node joins: a private one on this PC (`new`), or the one its initial peers are in."""

    new: bool
    initial_peers: tuple[str, ...] = ()


def node_spec(name: str, model: str, swarm: Swarm, *, gpu: int | None = None, plan: BlockPlan | None = None,
              blocks: int | None = None, dht_prefix: str | None = None, port: int = 0,
              public_name: str = "") -> NodeSpec:
    """The one place that turns "model, swarm, blocks, device" into a launch; the fleet, AppCore and the CLI call it.

    `gpu`: the NVML index of the GPU to serve on (CUDA, that GPU only), else the CPU. `plan`: the planner's blocks,
    dtype, quantization and cache for that device. `blocks`: the provider's own choice, capped at what the GPU's
    plan fits (on the CPU, taken as given). A private swarm listens on loopback only; a CPU node runs 2 handlers
    and announces a fixed throughput (Petals' measurement takes minutes on a CPU).
    """
    cpu = gpu is None
    if plan is not None and not cpu:
        blocks = plan.num_blocks if blocks is None else min(blocks, plan.num_blocks)
    elif blocks is None and plan is not None:
        blocks = plan.num_blocks
    return NodeSpec(
        name=name,
        model=model,
        dht_prefix=dht_prefix,
        new_swarm=swarm.new,
        initial_peers=list(swarm.initial_peers),
        port=port,
        listen_host="127.0.0.1" if swarm.new else "0.0.0.0",
        device="cpu" if cpu else "cuda",
        cuda_visible_devices=None if cpu else str(gpu),
        num_blocks=blocks,
        torch_dtype=plan.dtype if plan is not None else ("float32" if cpu else "auto"),
        quant_type=plan.quant if plan is not None and not cpu else None,
        attn_cache_tokens=plan.attn_cache_tokens if plan is not None and not cpu else None,
        throughput="1.0" if cpu else "auto",
        public_name=public_name,
        num_handlers=2 if cpu else None,
    )


def local_spec(name: str, model: str, paths: AppPaths, runtime: NodeRuntime, *, new_swarm: bool,
               initial_peers: list[str], num_blocks: int | None = None, port: int = 0,
               gpu: int | None = None, plan: BlockPlan | None = None, dht_prefix: str | None = None) -> NodeSpec:
    """A spec for what `farnode node start` asked: the model resolved on this PC (a folder's own blocks on the CPU)."""
    model_path, layers = resolve_model(model, paths, runtime)
    if not new_swarm and not initial_peers:
        raise UserInputError("say which swarm to join: --new-swarm for a private one, or --initial-peers ADDR ...")
    if layers is not None and num_blocks is not None and num_blocks > layers:
        raise UserInputError(f"this model has {layers} blocks; cannot serve {num_blocks}")
    is_local = Path(model_path).exists()
    return node_spec(name, model_path, Swarm(new_swarm, tuple(initial_peers)), gpu=gpu, plan=plan,
                     blocks=num_blocks if num_blocks is not None or gpu is not None else layers,
                     dht_prefix=dht_prefix or (dht_prefix_for(model_path) if is_local else None), port=port)


def _install(runtime: NodeRuntime, paths: AppPaths, model: str, cancel: threading.Event) -> None:
    runtime.install(cancel=cancel)  # a stop sets `cancel`: pip ends, the next start resumes the install
    # A runtime installed only now could not check a local model folder before the launch: it does so here, so that
    # a model it cannot load is refused with its reason rather than crash at every restart.
    refuse_unloadable(model, paths, runtime)


def make_supervisor(spec: NodeSpec, paths: AppPaths, bus: EventBus, runtime: NodeRuntime,
                    policy: SupervisorPolicy | None = None) -> NodeSupervisor:
    backend = NativeBackend(runtime.python, mesh_source_root())
    return NodeSupervisor(spec, paths, bus, backend, policy=policy, runtime_ready=runtime.ready,
                          provision=lambda cancel: _install(runtime, paths, spec.model, cancel))
