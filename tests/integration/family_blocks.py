"""Run by the node runtime's Python in tests: each family's server block against transformers' own model.

For every model folder given: the blocks built the way a Petals server builds them (`config.block_class(config)`
from FarMesh's registered config, weights loaded from the layer as Petals' loader does, MoE experts split per
expert), run over a long sequence at once and in pieces through Petals' cache layout, compared with the hidden
states of transformers' model. Prints `FARMESH-RESULT {folder: {"full": diff, "pieces": diff, "block_class": name}}`,
each diff the largest difference relative to the largest value.
"""

from __future__ import annotations

import json
import os
import sys

from farnode_desktop.mesh import bridge

bridge.install()

import petals  # noqa: E402,F401  (registers the families)
import torch  # noqa: E402
from petals.utils.auto_config import _CLASS_MAPPING  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from farnode_desktop.mesh.models.checkpoint import split_experts  # noqa: E402

PIECES = ((0, 300), (300, 301), (301, 302), (302, 310), (310, 311))


def check(folder: str) -> dict[str, object]:
    local = AutoModelForCausalLM.from_pretrained(folder).eval()
    config = _CLASS_MAPPING[local.config.model_type].config.from_pretrained(folder, dht_prefix="check")
    base = local.model if hasattr(local, "model") else local.transformer
    layers = base.layers if hasattr(base, "layers") else base.h
    blocks = []
    for layer in layers:
        block = config.block_class(config)
        # as Petals' loader does through FarMesh's checkpoint hook: fused MoE experts split per expert
        report = block.load_state_dict(split_experts(layer.state_dict()), strict=True)
        assert not report.missing_keys and not report.unexpected_keys, report
        blocks.append(block.eval())
    torch.manual_seed(1)
    ids = torch.randint(0, local.config.vocab_size, (2, PIECES[-1][1]))
    with torch.no_grad():
        reference = local(ids, output_hidden_states=True).hidden_states[-1]  # after the final norm
        embeds = (base.embed_tokens if hasattr(base, "embed_tokens") else base.word_embeddings)(ids)
        if hasattr(base, "word_embeddings_layernorm"):
            embeds = base.word_embeddings_layernorm(embeds)
        norm = base.norm if hasattr(base, "norm") else base.ln_f
        full = embeds
        for block in blocks:
            full = block(full)[0]
        caches: list[object] = [None] * len(blocks)
        outputs = []
        for start, end in PIECES:
            hidden = embeds[:, start:end]
            for i, block in enumerate(blocks):
                hidden, caches[i] = block(hidden, layer_past=caches[i], use_cache=True)
            outputs.append(hidden)
        pieces = torch.cat(outputs, dim=1)
    scale = float(reference.abs().max())
    return {"full": float((norm(full) - reference).abs().max()) / scale,
            "pieces": float((norm(pieces) - reference).abs().max()) / scale, "block_class": type(blocks[0]).__name__}


if __name__ == "__main__":
    print("FARMESH-RESULT " + json.dumps({folder: check(folder) for folder in sys.argv[1:]}), flush=True)
    os._exit(0)
