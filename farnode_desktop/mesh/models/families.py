"""Which model families FarMesh serves, Petals' DHT prefix rule for each, and whether a config can be served.

Standard library only: the app, the CLI and the tests use it without torch; `mesh/check_model.py` adds what
only the node runtime's transformers can tell.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.mesh.wire import loads_bounded

# transformers' RoPE variants (`transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS`) and the keys each needs.
ROPE_TYPES: dict[str, tuple[str, ...]] = {
    "default": (),
    "linear": ("factor",),
    "dynamic": ("factor",),
    "yarn": ("factor",),
    "longrope": ("short_factor", "long_factor"),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}
FALCON_ROPE_TYPES = ("linear", "dynamic")  # FalconAttention._init_rope in transformers 4.43


@dataclass(frozen=True)
class Family:
    """One model family FarMesh has server blocks and client classes for."""

    name: str  # FarMesh's name, as in resources/models.json
    display: str
    block_prefix: str  # where the blocks' weights live in a checkpoint saved by transformers
    alt_block_prefix: str | None = None  # the other layout in use (BLOOM: `transformer.h.N.*` from save_pretrained)


FAMILIES: dict[str, Family] = {
    "llama": Family("llama", "Llama", "model.layers"),
    "mixtral": Family("mixtral", "Mixtral", "model.layers"),
    "falcon": Family("falcon", "Falcon", "transformer.h"),
    "bloom": Family("bloom", "BLOOM", "h", alt_block_prefix="transformer.h"),
    "qwen3": Family("qwen3", "Qwen3", "model.layers"),
    "qwen3_moe": Family("qwen3_moe", "Qwen3-MoE", "model.layers"),
}


def family_of(config: dict[str, Any]) -> Family | None:
    """The family of a model's config.json (by `model_type`), or None when FarMesh does not serve it."""
    return FAMILIES.get(str(config.get("model_type", "")))


def dht_prefix(model_type: str, model_name: str) -> str | None:
    """The DHT prefix Petals clients look a hub model up by (Petals' own `DistributedXConfig.from_pretrained`).

    Llama: the repo name, dots as dashes, `-hf` added only when missing; Falcon: the repo name, dots as dashes;
    Mixtral: the whole name, dots as dashes; BLOOM: the whole name + `-petals`, dots as dashes. A local folder
    has none (it is served under an explicit `--dht_prefix`).
    """
    if os.path.isdir(model_name):
        return None
    repo = model_name.rsplit("/", maxsplit=1)[-1]
    if model_type == "llama":
        prefix = repo.replace(".", "-")
        return prefix if prefix.endswith("-hf") else prefix + "-hf"
    if model_type == "falcon":
        return repo.replace(".", "-")
    if model_type in ("mixtral", "qwen3", "qwen3_moe"):  # Petals has no Qwen rule: FarMesh uses Mixtral's
        return model_name.replace(".", "-")
    if model_type == "bloom":
        return (model_name + "-petals").replace(".", "-")
    return None


def _positive_int(config: dict[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _check_heads(config: dict[str, Any], heads_key: str, kv_key: str | None, problems: list[str],
                 head_dim_given: bool = False) -> None:
    hidden = _positive_int(config, "hidden_size")
    heads = _positive_int(config, heads_key)
    if hidden is None or heads is None:
        problems.append(f"the config needs whole positive numbers for hidden_size and {heads_key}")
        return
    if head_dim_given and _positive_int(config, "head_dim") is not None:
        pass  # an explicit head_dim (Qwen3) need not divide hidden_size
    elif hidden % heads:
        problems.append(f"hidden_size {hidden} is not a multiple of {heads_key} {heads}")
    if kv_key is not None and config.get(kv_key) is not None:
        kv = _positive_int(config, kv_key)
        if kv is None or heads % kv:
            problems.append(f"{heads_key} {heads} is not a multiple of {kv_key} {config.get(kv_key)}")


def _check_rope(config: dict[str, Any], allowed: tuple[str, ...] | None, problems: list[str]) -> None:
    scaling = config.get("rope_scaling")
    if scaling is None:
        return
    if not isinstance(scaling, dict):
        problems.append("rope_scaling must be a dictionary")
        return
    rope_type = scaling.get("rope_type", scaling.get("type"))
    known = ROPE_TYPES if allowed is None else {t: ROPE_TYPES[t] for t in allowed}
    if rope_type not in known:
        problems.append(f"RoPE scaling {rope_type!r} is not supported (supported: {', '.join(known)})")
        return
    missing = [key for key in known[str(rope_type)] if key not in scaling]
    if missing:
        problems.append(f"rope_scaling {rope_type!r} lacks {', '.join(missing)}")
        return
    factor = scaling.get("factor")
    if "factor" in known[str(rope_type)] and (not isinstance(factor, (int, float)) or isinstance(factor, bool)
                                              or factor < 1):
        # transformers 4.43 refused such a config; 5.x only logs a warning and would serve it
        problems.append(f"rope_scaling {rope_type!r} needs a factor of at least 1, got {factor!r}")


def config_problems(config: dict[str, Any]) -> list[str]:
    """Why FarMesh's runtime cannot serve a model with this config.json; empty when it can."""
    family = family_of(config)
    if family is None:
        served = ", ".join(f.display for f in FAMILIES.values())
        kind = config.get("model_type") or "unknown"
        return [f"FarMesh cannot serve models of type {kind!r}: it serves {served}"]
    problems: list[str] = []
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "?") if isinstance(
            config["quantization_config"], dict) else "?"
        problems.append(f"pre-quantized checkpoints ({method}) are not served: use the original weights "
                        "(the node quantizes them itself)")
    if _positive_int(config, "num_hidden_layers" if family.name != "bloom" else "n_layer") is None and \
            _positive_int(config, "num_hidden_layers") is None:
        problems.append("the config does not say how many layers the model has")
    if family.name in ("llama", "mixtral", "qwen3", "qwen3_moe"):
        _check_heads(config, "num_attention_heads", "num_key_value_heads", problems,
                     head_dim_given=family.name.startswith("qwen3"))
        _check_rope(config, None if family.name == "llama" else (), problems)
    if family.name.startswith("qwen3") and config.get("use_sliding_window"):
        problems.append("Qwen3 with sliding-window layers (use_sliding_window) is not served")
    if family.name == "qwen3_moe":
        experts, top_k = _positive_int(config, "num_experts"), _positive_int(config, "num_experts_per_tok")
        if experts is None or top_k is None or top_k > experts:
            problems.append("a Qwen3-MoE config needs num_experts and num_experts_per_tok <= num_experts")
        if config.get("mlp_only_layers") or config.get("decoder_sparse_step", 1) != 1:
            problems.append("Qwen3-MoE with dense layers among the sparse ones (mlp_only_layers, "
                            "decoder_sparse_step) is not served: Petals builds every block alike")
    if family.name == "mixtral":
        experts, top_k = _positive_int(config, "num_local_experts"), _positive_int(config, "num_experts_per_tok")
        if experts is None or top_k is None or top_k > experts:
            problems.append("a Mixtral config needs num_local_experts and num_experts_per_tok <= num_local_experts")
    if family.name == "falcon":
        heads_key = "num_attention_heads" if "num_attention_heads" in config else "n_head"
        kv_key = "num_kv_heads" if config.get("new_decoder_architecture") else None
        _check_heads(config, heads_key, kv_key, problems)
        if config.get("alibi"):
            problems.append("Falcon with ALiBi positions is not served (only the rotary Falcon models are)")
        _check_rope(config, FALCON_ROPE_TYPES, problems)
    if family.name == "bloom":
        heads_key = "n_head" if "n_head" in config else "num_attention_heads"
        if "hidden_size" not in config and "n_embed" in config:
            config = {**config, "hidden_size": config["n_embed"]}
        _check_heads(config, heads_key, None, problems)
    return problems


def _safetensors_keys(path: Path) -> list[str]:
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        if size > 100 * 1024 * 1024:
            raise ValueError(f"{path.name}: header too large")
        header = loads_bounded(handle.read(size).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: the header is not a JSON object")
    return [key for key in header if key != "__metadata__"]


def weight_names(folder: Path) -> list[str]:
    """The tensor names of a local checkpoint (index files, or safetensors headers); empty if none is readable."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            body = loads_bounded(index.read_text(encoding="utf-8"))
            if not isinstance(body, dict) or not isinstance(body.get("weight_map", {}), dict):
                raise ValueError(f"{index_name} is not a weight index (a JSON object with a weight_map)")
            return list(body.get("weight_map", {}))
    names: list[str] = []
    for path in sorted(folder.glob("*.safetensors")):
        names += _safetensors_keys(path)
    return names


def block_prefix_in(folder: Path, family: Family) -> str | None:
    """The block prefix a local checkpoint uses (BLOOM comes as `h.N.*` from the hub and `transformer.h.N.*` when
    saved by transformers); None when the folder's weights have neither."""
    names = weight_names(folder)
    for prefix in (family.block_prefix, family.alt_block_prefix):
        if prefix and any(name.startswith(prefix + ".0.") for name in names):
            return prefix
    return None


def folder_problems(folder: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Read a model folder's config.json and check it and its weights' layout."""
    try:
        config = loads_bounded((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{folder} has no config.json: it is not a model folder"]
    except (OSError, ValueError) as exc:
        return None, [f"{folder}/config.json cannot be read: {exc}"]
    if not isinstance(config, dict):
        return None, [f"{folder}/config.json is not a JSON object"]
    problems = config_problems(config)
    family = family_of(config)
    if family is not None and not problems:
        try:
            has_weights = bool(weight_names(folder)) or any(folder.glob("pytorch_model*.bin"))
            if has_weights and not any(folder.glob("pytorch_model*.bin")) and block_prefix_in(folder, family) is None:
                problems.append(f"the weights in {folder} have no {family.block_prefix}.0.* block")
        except (OSError, ValueError, struct.error) as exc:
            problems.append(f"the weights in {folder} cannot be read: {exc}")
    return config, problems
