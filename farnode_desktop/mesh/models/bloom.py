"""FarMesh's BLOOM family on transformers 4.43: BLOOM's own cache layout is Petals' layout, so the block only adds
the ALiBi biases and the causal mask that transformers' BloomModel used to make for its layers.

Checkpoints come in two layouts: the hub's `h.N.*` (BLOOM saved as BloomModel) and `transformer.h.N.*` (saved by a
current `save_pretrained` of BloomForCausalLM); a local folder is served from whichever it has.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.bloom import BloomConfig, BloomForCausalLM, BloomModel
from transformers.models.bloom.modeling_bloom import BloomAttention, BloomBlock, build_alibi_tensor

from farnode_desktop.mesh.models.cache import causal_mask
from farnode_desktop.mesh.models.config import FarMeshConfigLoading, FarMeshConfigMixin
from farnode_desktop.mesh.models.swarm_body import SwarmCausalLM, SwarmModelBody


class FarMeshBloomBlock(BloomBlock):
    """One BLOOM block as a Petals server block."""

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        past_length = 0 if layer_past is None else int(layer_past[0].shape[-1])
        past = (layer_past[0], layer_past[1]) if past_length else None
        total = past_length + seq_length
        ones = torch.ones(batch_size, total, dtype=torch.long, device=hidden_states.device)
        alibi = build_alibi_tensor(ones, self.num_heads, hidden_states.dtype)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device) != 0
        outputs = super().forward(hidden_states, alibi=alibi, attention_mask=mask, layer_past=past, use_cache=True)
        if not use_cache:
            return (outputs[0],)
        return outputs[0], outputs[1]


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
