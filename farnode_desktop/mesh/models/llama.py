"""FarMesh's Llama family on transformers 5: GQA, Llama 3.1's `llama3` RoPE (transformers' own rope utils).

The server block wraps transformers' `LlamaDecoderLayer`; Petals' cache layout is converted to a one-layer
DynamicCache and back, positions follow the cached length, and the causal mask covers cache + new tokens. In
transformers 5 the rotary embedding lives in the model, not the attention: the block keeps its own.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.llama import LlamaConfig, LlamaForCausalLM, LlamaModel
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaDecoderLayer, LlamaRotaryEmbedding

from farnode_desktop.mesh.models.cache import (
    cache_to_petals,
    causal_mask,
    layer_cache,
    positions,
    prepare_block_config,
)
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, LlamaStyleConfigLoading
from farnode_desktop.mesh.models.swarm_body import LlamaStyleBody, LlamaStyleCausalLM


class FarMeshLlamaBlock(LlamaDecoderLayer):
    """One Llama decoder layer as a Petals server block (`forward(hidden, layer_past=, use_cache=)`)."""

    def __init__(self, config: LlamaConfig) -> None:
        prepare_block_config(config)
        super().__init__(config, layer_idx=0)
        self.config = config
        self.self_attn.num_heads = config.num_attention_heads  # Petals' backend counts heads here (4.x had it)
        self.rotary_emb = LlamaRotaryEmbedding(config=config)

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache, past_length = layer_cache(layer_past, batch_size, self.config.num_key_value_heads)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        hidden = super().forward(
            hidden_states,
            attention_mask=mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=True,
            position_embeddings=self.rotary_emb(hidden_states, position_ids),
        )
        if not use_cache:
            return (hidden,)
        return hidden, cache_to_petals(cache)


class DistributedLlamaConfig(LlamaStyleConfigLoading, LlamaConfig, FarMeshConfigMixin):
    """Llama config with what Petals' server and client need (its block class; prefix and kv groups are Llama-style)."""

    block_class = FarMeshLlamaBlock
    attn_class = LlamaAttention

    @classmethod
    def finish_family(cls, config: Any) -> None:
        config.pretraining_tp = 1  # tensor-parallel pretraining slices do not apply to served blocks
        config.use_cache = True


class DistributedLlamaModel(LlamaStyleBody, LlamaModel):
    """LlamaModel whose decoder layers run in the swarm."""

    config_class = DistributedLlamaConfig


class DistributedLlamaForCausalLM(LlamaStyleCausalLM, LlamaForCausalLM):
    """LlamaForCausalLM whose decoder layers run in the swarm; generate() keeps the caches on the servers."""

    body_class = DistributedLlamaModel


CLASSES = {"config": DistributedLlamaConfig, "model": DistributedLlamaModel,
           "model_for_causal_lm": DistributedLlamaForCausalLM, "model_for_sequence_classification": None}
