"""FarMesh's Llama family on transformers 4.43: GQA, Llama 3.1's `llama3` RoPE (transformers' own rope utils).

The server block wraps transformers' `LlamaDecoderLayer`; Petals' cache layout is converted to a one-layer
DynamicCache and back, positions follow the cached length, and the causal mask covers cache + new tokens.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache
from transformers.models.llama import LlamaConfig, LlamaForCausalLM, LlamaModel
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaDecoderLayer

from farnode_desktop.mesh.models.cache import causal_mask, hf_to_petals, petals_to_hf, positions
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, LlamaStyleConfigLoading
from farnode_desktop.mesh.models.swarm_body import LlamaStyleBody, LlamaStyleCausalLM


class FarMeshLlamaBlock(LlamaDecoderLayer):
    """One Llama decoder layer as a Petals server block (`forward(hidden, layer_past=, use_cache=)`)."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__(config, layer_idx=0)
        self.config = config

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        kv_heads = self.self_attn.num_key_value_heads
        cache = DynamicCache()
        past_length = 0
        if layer_past is not None:
            keys, values = petals_to_hf(layer_past, batch_size, kv_heads)
            past_length = keys.shape[2]
            if past_length:
                cache.update(keys, values, 0)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        outputs = super().forward(
            hidden_states,
            attention_mask=mask,
            position_ids=position_ids,
            past_key_value=cache,
            use_cache=True,
            cache_position=position_ids[0],
            position_embeddings=self.self_attn.rotary_emb(hidden_states, position_ids),
        )
        if not use_cache:
            return (outputs[0],)
        return outputs[0], hf_to_petals(cache.key_cache[0], cache.value_cache[0])


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
