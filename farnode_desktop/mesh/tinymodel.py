"""Makes the tiny random models that the demo network and the tests serve (no download: generated locally).

`make_tiny_llama` is the demo's model. `make_shaped` makes a model shaped like a catalog model's published
config.json: the same architecture and distinctive keys (RoPE scaling, kv heads, experts, Falcon's new decoder
architecture, BLOOM's hub key layout `h.N.*`), at hidden size 64 with 4 layers.
`python -m farnode_desktop.mesh.tinymodel FOLDER [--like CATALOG_NAME]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TINY_CONFIG = {
    "vocab_size": 256,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "max_position_embeddings": 512,
}


def make_tiny_llama(folder: Path, seed: int = 0) -> Path:
    """Write a random-initialised 4-block Llama to `folder` (idempotent: an existing model is kept)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (folder / "config.json").exists() and any(folder.glob("*.safetensors")):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**TINY_CONFIG))
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "farnode-model.json").write_text(json.dumps({"name": "farlabs/tiny-demo", "seed": seed}))
    return folder


LLAMA_31_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                 "original_max_position_embeddings": 8192}
_SMALL = {"vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4}

# Published config keys of each catalog model, at tiny size; kv-head ratios kept where hidden size 64 allows.
SHAPES: dict[str, dict[str, Any]] = {
    "meta-llama/Meta-Llama-3.1-405B-Instruct": {
        "model_type": "llama", **_SMALL, "intermediate_size": 208, "num_attention_heads": 16, "num_key_value_heads": 1,
        "rope_theta": 500000.0, "rope_scaling": LLAMA_31_ROPE, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-05, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": [2, 3]},
    "meta-llama/Meta-Llama-3.1-70B-Instruct": {
        "model_type": "llama", **_SMALL, "intermediate_size": 224, "num_attention_heads": 8, "num_key_value_heads": 1,
        "rope_theta": 500000.0, "rope_scaling": LLAMA_31_ROPE, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-05, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": [2, 3]},
    "meta-llama/Llama-2-70b-chat-hf": {
        "model_type": "llama", **_SMALL, "intermediate_size": 224, "num_attention_heads": 8, "num_key_value_heads": 1,
        "rope_theta": 10000.0, "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "bos_token_id": 1,
        "eos_token_id": 2},
    "mistralai/Mixtral-8x22B-Instruct-v0.1": {
        "model_type": "mixtral", **_SMALL, "intermediate_size": 160, "num_attention_heads": 8,
        "num_key_value_heads": 2, "num_local_experts": 8, "num_experts_per_tok": 2, "rope_theta": 1000000.0,
        "sliding_window": None, "max_position_embeddings": 65536, "router_aux_loss_coef": 0.001,
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2},
    "tiiuae/falcon-40b": {
        "model_type": "falcon", **_SMALL, "num_attention_heads": 16, "num_kv_heads": 1,
        "new_decoder_architecture": True, "parallel_attn": True, "multi_query": True, "alibi": False, "bias": False,
        "bos_token_id": 1, "eos_token_id": 2},
    # Qwen3-32B: head_dim 128 with 64 heads at hidden 5120 (heads x head_dim != hidden), kv heads 8
    "Qwen/Qwen3-32B": {
        "model_type": "qwen3", **_SMALL, "intermediate_size": 160, "num_attention_heads": 16,
        "num_key_value_heads": 2, "head_dim": 8, "rope_theta": 1000000.0, "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-06, "use_sliding_window": False, "sliding_window": None, "attention_bias": False,
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2},
    # Qwen3-30B-A3B: 128 experts, 8 per token, every layer sparse, head_dim 128 with 32 heads at hidden 2048
    "Qwen/Qwen3-30B-A3B": {
        "model_type": "qwen3_moe", **_SMALL, "intermediate_size": 192, "moe_intermediate_size": 24,
        "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 8, "num_experts": 16,
        "num_experts_per_tok": 8, "norm_topk_prob": True, "decoder_sparse_step": 1, "mlp_only_layers": [],
        "rope_theta": 1000000.0, "max_position_embeddings": 40960, "rms_norm_eps": 1e-06,
        "use_sliding_window": False, "sliding_window": None, "router_aux_loss_coef": 0.001,
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2},
    "bigscience/bloom-560m": {
        "model_type": "bloom", "vocab_size": 256, "hidden_size": 64, "n_layer": 4, "n_head": 16,
        "layer_norm_epsilon": 1e-05, "apply_residual_connection_post_layernorm": False, "bos_token_id": 1,
        "eos_token_id": 2, "pad_token_id": 3},
}


def make_shaped(like: str, folder: Path, seed: int = 0) -> Path:
    """Write a random 4-block model shaped like the catalog model `like` to `folder` (idempotent)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, BloomModel

    if (folder / "config.json").exists() and any(folder.glob("*.safetensors")):
        return folder
    shape = dict(SHAPES[like])
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    # Weights drawn wider than the published init (0.02) so that greedy output varies instead of repeating one
    # token, which makes served == local a sharper test; it changes no key of the architecture.
    config = AutoConfig.for_model(shape.pop("model_type"), initializer_range=0.5, **shape)
    if config.model_type == "bloom":  # the hub's layout: BLOOM saved as the base model (`h.N.*`, no `transformer.`)
        config.architectures = ["BloomForCausalLM"]
        BloomModel(config).save_pretrained(str(folder), safe_serialization=True)
    else:
        AutoModelForCausalLM.from_config(config).save_pretrained(str(folder), safe_serialization=True)
    (folder / "farnode-model.json").write_text(json.dumps({"name": f"tiny model shaped like {like}", "seed": seed}))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--like", choices=sorted(SHAPES), help="shape it like this catalog model")
    args = parser.parse_args()
    print(make_shaped(args.like, args.folder, args.seed) if args.like else make_tiny_llama(args.folder, args.seed))


if __name__ == "__main__":
    main()
