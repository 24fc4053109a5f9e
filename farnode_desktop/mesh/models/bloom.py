"""FarMesh's BLOOM family on transformers 5: the block adds the ALiBi biases and the additive causal mask that
transformers' BloomModel makes for its layers, and converts Petals' cache layout (BLOOM's old one) to the one-layer
`DynamicCache` that transformers 5's BloomAttention updates, and back.

Checkpoints come in two layouts: the hub's `h.N.*` (BLOOM saved as BloomModel) and `transformer.h.N.*` (saved by a
current `save_pretrained` of BloomForCausalLM); a local folder is served from whichever it has.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.bloom import BloomConfig, BloomForCausalLM, BloomModel
from transformers.models.bloom.modeling_bloom import BloomAttention, BloomBlock, build_alibi_tensor

from farnode_desktop.mesh.models.cache import cache_to_petals, causal_mask, layer_cache
from farnode_desktop.mesh.models.config import FarMeshConfigLoading, FarMeshConfigMixin
from farnode_desktop.mesh.models.swarm_body import SwarmCausalLM, SwarmModelBody


class FarMeshBloomBlock(BloomBlock):
    """One BLOOM block as a Petals server block."""

    def __init__(self, config: BloomConfig) -> None:
        super().__init__(config, layer_idx=0)

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache, past_length = layer_cache(layer_past, batch_size, self.num_heads)
        total = past_length + seq_length
        ones = torch.ones(batch_size, total, dtype=torch.long, device=hidden_states.device)
        alibi = build_alibi_tensor(ones, self.num_heads, hidden_states.dtype)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        outputs = super().forward(hidden_states, alibi=alibi, attention_mask=mask, layer_past=cache, use_cache=True)
        hidden = outputs[0] if isinstance(outputs, tuple) else outputs
        if not use_cache:
            return (hidden,)
        return hidden, cache_to_petals(cache)


class DistributedBloomConfig(FarMeshConfigLoading, BloomConfig, FarMeshConfigMixin):
    """BLOOM config with what Petals' server and client need."""

    block_class = FarMeshBloomBlock
    attn_class = BloomAttention
    block_prefix = "h"
    num_key_value_groups = 1


class DistributedBloomModel(SwarmModelBody, BloomModel):
    """BloomModel whose blocks run in the swarm (its own word_embeddings_layernorm stays here)."""

    _keys_to_ignore_on_load_missing = [*SwarmModelBody._keys_to_ignore_on_load_missing, r"^(transformer\.)?h\."]
    _keys_to_ignore_on_load_unexpected = [r"^(transformer\.)?h\."]
    config_class = DistributedBloomConfig


class DistributedBloomForCausalLM(SwarmCausalLM, BloomForCausalLM):
    """BloomForCausalLM whose blocks run in the swarm."""

    body_class = DistributedBloomModel


CLASSES = {"config": DistributedBloomConfig, "model": DistributedBloomModel,
           "model_for_causal_lm": DistributedBloomForCausalLM, "model_for_sequence_classification": None}
