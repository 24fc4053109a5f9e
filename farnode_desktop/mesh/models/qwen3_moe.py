"""FarMesh's Qwen3-MoE family on transformers 5 (Qwen3's attention with a sparse mixture-of-experts feed-forward,
every expert in the block's memory); Petals has none.

As the Qwen3 block, with the experts as one nn.Linear per projection (`experts.LinearExperts`, so nf4/int8 reach
them; `checkpoint.split_experts` splits transformers 5's fused checkpoint tensors for them). Petals builds every block
from the config alone (no layer index), so a config with dense layers among the sparse ones (`mlp_only_layers`,
`decoder_sparse_step` > 1) is refused by `families.config_problems`.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.modeling_outputs import MoeModelOutputWithPast
from transformers.models.qwen3_moe import Qwen3MoeConfig, Qwen3MoeForCausalLM, Qwen3MoeModel
from transformers.models.qwen3_moe.modeling_qwen3_moe import Qwen3MoeAttention, Qwen3MoeDecoderLayer, Qwen3MoeRotaryEmbedding

from farnode_desktop.mesh.models.cache import (
    cache_to_petals,
    causal_mask,
    layer_cache,
    positions,
    prepare_block_config,
)
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, LlamaStyleConfigLoading
from farnode_desktop.mesh.models.experts import LinearExperts
from farnode_desktop.mesh.models.swarm_body import LlamaStyleBody, LlamaStyleCausalLM


class FarMeshQwen3MoeBlock(Qwen3MoeDecoderLayer):
    """One Qwen3 decoder layer as a Petals server block."""

    def __init__(self, config: Qwen3MoeConfig) -> None:  # layer 0 of a config whose every layer is sparse
        prepare_block_config(config)
        super().__init__(config, layer_idx=0)
        self.config = config
        self.mlp.experts = LinearExperts(config.num_experts, config.hidden_size, config.moe_intermediate_size,
                                         config.hidden_act)
        self.self_attn.num_heads = config.num_attention_heads  # Petals' backend counts heads here
        self.rotary_emb = Qwen3MoeRotaryEmbedding(config=config)

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


class DistributedQwen3MoeConfig(LlamaStyleConfigLoading, Qwen3MoeConfig, FarMeshConfigMixin):
    """Qwen3 config with what Petals' server and client need."""

    block_class = FarMeshQwen3MoeBlock
    attn_class = Qwen3MoeAttention

    @classmethod
    def finish_family(cls, config: Any) -> None:
        if config.pad_token_id is None:
            config.pad_token_id = 0
        config.use_cache = True


class DistributedQwen3MoeModel(LlamaStyleBody, Qwen3MoeModel):
    """Qwen3MoeModel whose decoder layers run in the swarm."""

    config_class = DistributedQwen3MoeConfig
    output_class = MoeModelOutputWithPast


class DistributedQwen3MoeForCausalLM(LlamaStyleCausalLM, Qwen3MoeForCausalLM):
    """Qwen3MoeForCausalLM whose decoder layers run in the swarm."""

    body_class = DistributedQwen3MoeModel

    def add_family_fields(self, config: DistributedQwen3MoeConfig) -> None:
        super().add_family_fields(config)
        self.router_aux_loss_coef = config.router_aux_loss_coef
        self.num_experts = config.num_experts
        self.num_experts_per_tok = config.num_experts_per_tok


CLASSES = {"config": DistributedQwen3MoeConfig, "model": DistributedQwen3MoeModel,
           "model_for_causal_lm": DistributedQwen3MoeForCausalLM, "model_for_sequence_classification": None}
