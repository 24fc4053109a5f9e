"""FarMesh's Falcon family on transformers 5 (rotary Falcon: 7B's multi-query and 40B/180B's new decoder
architecture).

transformers 5's Falcon caches one copy per kv head (4.43 broadcast each to its group), as Petals' server stores
them; the block keeps its own rotary embedding (5.x computes it in the model) and passes a one-layer DynamicCache.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.falcon import FalconConfig, FalconForCausalLM, FalconModel
from transformers.models.falcon.modeling_falcon import FalconAttention, FalconDecoderLayer, FalconRotaryEmbedding

from farnode_desktop.mesh.models.cache import (
    cache_to_petals,
    causal_mask,
    layer_cache,
    positions,
    prepare_block_config,
)
from farnode_desktop.mesh.models.config import FarMeshConfigLoading, FarMeshConfigMixin
from farnode_desktop.mesh.models.swarm_body import NO_EMBEDDINGS_NORM, SwarmCausalLM, SwarmModelBody


def _kv_groups(config: FalconConfig) -> int:
    if config.new_decoder_architecture:
        return int(config.num_attention_heads // config.num_kv_heads)
    if config.multi_query:
        return int(config.num_attention_heads)
    return 1


class FarMeshFalconBlock(FalconDecoderLayer):
    """One Falcon decoder layer as a Petals server block."""

    def __init__(self, config: FalconConfig) -> None:
        prepare_block_config(config)
        super().__init__(config, layer_idx=0)
        self.stored_heads = self.self_attention.num_kv_heads
        self.rotary_emb = FalconRotaryEmbedding(config=config)

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache, past_length = layer_cache(layer_past, batch_size, self.stored_heads)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        outputs = super().forward(hidden_states, attention_mask=mask, position_ids=position_ids, layer_past=cache,
                                  use_cache=True, position_embeddings=self.rotary_emb(hidden_states, position_ids))
        hidden = outputs[0] if isinstance(outputs, tuple) else outputs
        if not use_cache:
            return (hidden,)
        return hidden, cache_to_petals(cache)


class DistributedFalconConfig(FarMeshConfigLoading, FalconConfig, FarMeshConfigMixin):
    """Falcon config with what Petals' server and client need."""

    block_class = FarMeshFalconBlock
    attn_class = FalconAttention
    block_prefix = "transformer.h"

    @property
    def num_key_value_groups(self) -> int:
        return _kv_groups(self)

    @classmethod
    def finish_family(cls, config: Any) -> None:
        if config.pad_token_id is None:
            config.pad_token_id = 0


class DistributedFalconModel(SwarmModelBody, FalconModel):
    """FalconModel whose decoder layers run in the swarm."""

    _keys_to_ignore_on_load_unexpected = [r"^transformer\.h\.", r"^h\."]
    config_class = DistributedFalconConfig
    word_embeddings_layernorm = NO_EMBEDDINGS_NORM


class DistributedFalconForCausalLM(SwarmCausalLM, FalconForCausalLM):
    """FalconForCausalLM whose decoder layers run in the swarm."""

    body_class = DistributedFalconModel


CLASSES = {"config": DistributedFalconConfig, "model": DistributedFalconModel,
           "model_for_causal_lm": DistributedFalconForCausalLM, "model_for_sequence_classification": None}
