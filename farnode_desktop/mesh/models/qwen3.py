"""FarMesh's Qwen3 family on transformers 5 (dense Qwen3: per-head q/k RMS norms, GQA, an explicit head_dim that
need not be hidden_size / heads, as in Qwen3-32B); Petals has none.

The server block wraps transformers' `Qwen3DecoderLayer` the way the Llama block wraps Llama's: a one-layer
DynamicCache from Petals' cache layout and back, the block's own rotary embedding, the causal mask over cache + new
tokens. Sliding-window Qwen3 configs (`use_sliding_window`) are refused by `families.config_problems`.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.qwen3 import Qwen3Config, Qwen3ForCausalLM, Qwen3Model
from transformers.models.qwen3.modeling_qwen3 import Qwen3Attention, Qwen3DecoderLayer, Qwen3RotaryEmbedding

from farnode_desktop.mesh.models.cache import (
    cache_to_petals,
    causal_mask,
    layer_cache,
    positions,
    prepare_block_config,
)
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, LlamaStyleConfigLoading
from farnode_desktop.mesh.models.swarm_body import LlamaStyleBody, LlamaStyleCausalLM


class FarMeshQwen3Block(Qwen3DecoderLayer):
    """One Qwen3 decoder layer as a Petals server block."""

    def __init__(self, config: Qwen3Config) -> None:
        prepare_block_config(config)
        super().__init__(config, layer_idx=0)
        self.config = config
        self.self_attn.num_heads = config.num_attention_heads  # Petals' backend counts heads here
        self.rotary_emb = Qwen3RotaryEmbedding(config=config)

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache, past_length = layer_cache(layer_past, batch_size, self.config.num_key_value_heads)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        hidden = super().forward(hidden_states, attention_mask=mask, position_ids=position_ids, cache=cache,
                                 use_cache=True, position_embeddings=self.rotary_emb(hidden_states, position_ids))
        if not use_cache:
            return (hidden,)
        return hidden, cache_to_petals(cache)


class DistributedQwen3Config(LlamaStyleConfigLoading, Qwen3Config, FarMeshConfigMixin):
    """Qwen3 config with what Petals' server and client need."""

    block_class = FarMeshQwen3Block
    attn_class = Qwen3Attention

    @classmethod
    def finish_family(cls, config: Any) -> None:
        if config.pad_token_id is None:
            config.pad_token_id = 0
        config.use_cache = True


class DistributedQwen3Model(LlamaStyleBody, Qwen3Model):
    """Qwen3Model whose decoder layers run in the swarm."""

    config_class = DistributedQwen3Config


class DistributedQwen3ForCausalLM(LlamaStyleCausalLM, Qwen3ForCausalLM):
    """Qwen3ForCausalLM whose decoder layers run in the swarm."""

    body_class = DistributedQwen3Model


CLASSES = {"config": DistributedQwen3Config, "model": DistributedQwen3Model,
           "model_for_causal_lm": DistributedQwen3ForCausalLM, "model_for_sequence_classification": None}
