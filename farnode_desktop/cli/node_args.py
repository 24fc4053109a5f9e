"""What `farnode node` accepts on its command line, checked before anything is launched: port, blocks, names,
swarm addresses, wait time, the model (a catalog name or a model folder that exists) and the GPU to serve on."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from farnode_desktop.core.checked_files import read_json_object
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.catalog import Catalog, ModelSpec
from farnode_desktop.core.gpus.eligibility import GpuVerdict, SystemState, assess, detect_wsl
from farnode_desktop.core.gpus.nvml import NvmlModule, read_inventory
from farnode_desktop.core.settings import Settings
from farnode_desktop.mesh.models.families import folder_problems

MAX_BLOCKS = 1000  # as in Settings: no model has more
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_DHT_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MULTIADDR = re.compile(r"(/[A-Za-z0-9._~:%+-]+)+")


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the {what} must be a whole number, not {text[:20]!r}") from None


def port(text: str) -> int:
    """A TCP port 1..65535, or 0 to have a free one chosen (and kept)."""
    value = _whole(text, "port")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be from 1 to 65535 (or 0 to choose a free one), not {value}")
    return value


def num_blocks(text: str) -> int:
    value = _whole(text, "number of blocks")
    if not 1 <= value <= MAX_BLOCKS:
        raise argparse.ArgumentTypeError(f"the number of blocks must be from 1 to {MAX_BLOCKS}, not {value}")
    return value


def node_name(text: str) -> str:
    """A node's name is also its folder's name: letters, digits, - and _ only (no path can be smuggled in)."""
    if not _NODE_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"a node name is 1 to 32 letters, digits, - or _ (like cpu or gpu0), not {text[:40]!r}")
    return text


def gpu_index(text: str) -> int:
    """A GPU's index as NVML (and `farnode gpus`) numbers it: 0, 1, ..."""
    value = _whole(text, "GPU index")
    if not 0 <= value <= 63:
        raise argparse.ArgumentTypeError(f"the GPU index must be from 0 to 63 (see `farnode gpus`), not {value}")
    return value


def dht_prefix(text: str) -> str:
    if not _DHT_PREFIX.fullmatch(text):
        raise argparse.ArgumentTypeError(f"a DHT prefix is 1 to 64 letters, digits, '.', '-' or '_', not {text[:40]!r}")
    return text


def multiaddr(text: str) -> str:
    if len(text) > 512 or not _MULTIADDR.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not a multiaddr (like /ip4/203.0.113.7/tcp/31337/p2p/12D3KooW...)")
    return text


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the wait must be a number of seconds, not {text[:20]!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"the wait must be from 0 to 604800 seconds, not {text[:20]}")
    return value


def checked_model(model: str, catalog: Catalog | None = None) -> str:
    """The model to serve, checked before a node is launched: a model folder that exists (holding config.json) or a
    catalog name, returned in full. Anything else is a plain error, as `farnode plan` gives."""
    folder = Path(model).expanduser()
    if folder.exists():
        if not folder.is_dir() or not (folder / "config.json").is_file():
            raise UserInputError(f"{str(folder)!r} is not a model folder (it has no config.json)",
                                 hint="point --model at a folder made by save_pretrained, or use a catalog name")
        _, problems = folder_problems(folder)  # the runtime's own rules (stdlib only): refused before launch
        if problems:
            raise UserInputError(f"FarNode cannot serve the model in {str(folder)!r}: " + "; ".join(problems),
                                 hint="FarMesh serves Llama (2, 3, 3.1), Mixtral, Falcon and BLOOM models")
        return str(folder.resolve())
    path_like = model.startswith(("/", ".", "~")) or "\\" in model or folder.is_absolute() or model.count("/") > 1
    if path_like:
        raise UserInputError(f"the model folder {str(folder)!r} does not exist",
                             hint="check the path, or use a catalog name (see `farnode plan --help`)")
    return (catalog or Catalog.load()).get(model).name  # "FarNode does not know the model ..." with suggestions


def catalog_model(model: str, catalog: Catalog | None = None) -> ModelSpec:
    """The catalog entry GPU blocks are planned from: a catalog name, or a folder holding a catalog model (the demo
    model's own note, else the folder's name as the catalog's short name, like Llama-2-70b-chat-hf)."""
    catalog = catalog or Catalog.load()
    folder = Path(model)
    if not folder.is_dir():
        return catalog.get(model)
    try:
        named = read_json_object(folder / "farnode-model.json", max_bytes=64 * 1024).get("name")
    except (OSError, ValueError):
        named = None
    for name in (named, folder.name):
        if isinstance(name, str) and name.strip():
            try:
                return catalog.get(name)
            except UserInputError:
                continue
    raise UserInputError(f"FarNode plans GPU blocks for the models in its catalog, and {str(folder)!r} holds none "
                         "it knows", hint="name the folder like the catalog model it holds (see `farnode plan "
                         "--help`), or serve it on the CPU (without --gpu)")


def serving_gpu(index: int, model: ModelSpec, settings: Settings,
                nvml: NvmlModule | None = None) -> GpuVerdict:
    """GPU `index` read through NVML and judged as the app judges it; a plain refusal when it is not there or
    cannot serve `model` (driver, compute capability, free VRAM, left out in Settings)."""
    inventory = read_inventory(nvml)
    if inventory.problem is not None:
        raise FarNodeError(f"cannot serve on GPU {index}: {inventory.problem}", hint=inventory.problem.hint)
    verdict = assess(inventory, model, settings, wsl=detect_wsl())
    if verdict.state is SystemState.MODEL_NOT_SERVABLE:
        raise FarNodeError(verdict.reason, hint=verdict.what_to_do)
    found = next((v for v in verdict.gpus if v.index == index), None)
    if found is None:
        known = ", ".join(str(v.index) for v in verdict.gpus) or "none"
        raise UserInputError(f"there is no GPU {index} on this PC", hint=f"GPUs found: {known} (see `farnode gpus`)")
    if not found.ok or found.plan is None:
        raise FarNodeError(found.reason, hint=found.what_to_do)  # the reason names the GPU
    return found
