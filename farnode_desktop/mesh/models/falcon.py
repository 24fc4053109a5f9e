"""FarMesh's Falcon family on transformers 4.43 (rotary Falcon: 7B's multi-query and 40B/180B's new decoder
architecture).

transformers' Falcon keeps `num_heads` key/value heads in its cache for the new decoder architecture (each kv head
broadcast to its group); the server stores one copy per kv head and expands it for the layer.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.models.falcon import FalconConfig, FalconForCausalLM, FalconModel
from transformers.models.falcon.modeling_falcon import FalconAttention, FalconDecoderLayer

from farnode_desktop.mesh.models.cache import (
    causal_mask,
    collapse_kv,
    expand_kv,
    hf_to_petals,
    petals_to_hf,
    positions,
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
        super().__init__(config)
        attention = self.self_attention
        self.stored_heads = config.num_attention_heads // _kv_groups(config)
        layer_heads = attention.num_heads if attention.new_decoder_architecture else attention.num_kv_heads
        self.expand = layer_heads // self.stored_heads

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        past: tuple[torch.Tensor, torch.Tensor] | None = None
        past_length = 0
        if layer_past is not None:
            keys, values = petals_to_hf(layer_past, batch_size, self.stored_heads)
            past_length = keys.shape[2]
            if past_length:
                past = (expand_kv(keys, self.expand), expand_kv(values, self.expand))
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device)
        outputs = super().forward(hidden_states, alibi=None, attention_mask=mask, position_ids=position_ids,
                                  layer_past=past, use_cache=True)
        if not use_cache:
            return (outputs[0],)
        keys, values = outputs[1]
        return outputs[0], hf_to_petals(collapse_kv(keys, self.expand), collapse_kv(values, self.expand))


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
