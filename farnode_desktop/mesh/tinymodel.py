"""Makes the tiny random Llama that the demo network and the tests serve (no download: generated locally)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make_tiny_llama(args.folder, args.seed))


if __name__ == "__main__":
    main()
