"""FarMesh's Mixtral family (mixture of experts) on transformers 5; Petals 2.2 has none.

The server block wraps transformers' `MixtralDecoderLayer` (attention with GQA, then the sparse-MoE feed-forward,
router included); the cache conversion is the same as Llama's, with Mixtral's sliding window in the mask. The
experts are one nn.Linear per projection (`experts.LinearExperts`, so nf4/int8 reach them); `checkpoint.split_experts`
names the published per-expert weights (and splits transformers 5's fused ones) for them.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.modeling_outputs import MoeModelOutputWithPast
from transformers.models.mixtral import MixtralConfig, MixtralForCausalLM, MixtralModel
from transformers.models.mixtral.modeling_mixtral import (
    MixtralAttention,
    MixtralDecoderLayer,
    MixtralRotaryEmbedding,
)

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


class FarMeshMixtralBlock(MixtralDecoderLayer):
    """One Mixtral decoder layer as a Petals server block."""

    def __init__(self, config: MixtralConfig) -> None:
        prepare_block_config(config)
        super().__init__(config, layer_idx=0)
        self.config = config
        self.mlp.experts = LinearExperts(config.num_local_experts, config.hidden_size, config.intermediate_size,
                                         config.hidden_act)
        self.self_attn.num_heads = config.num_attention_heads  # Petals' backend counts heads here (4.x had it)
        self.sliding_window = config.sliding_window
        self.rotary_emb = MixtralRotaryEmbedding(config=config)

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache, past_length = layer_cache(layer_past, batch_size, self.config.num_key_value_heads)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device,
                           sliding_window=self.sliding_window)
        hidden = super().forward(hidden_states, position_embeddings=self.rotary_emb(hidden_states, position_ids),
                                 attention_mask=mask, position_ids=position_ids, cache=cache, use_cache=True)
        if not use_cache:
            return (hidden,)
        return hidden, cache_to_petals(cache)


class DistributedMixtralConfig(LlamaStyleConfigLoading, MixtralConfig, FarMeshConfigMixin):
    """Mixtral config with what Petals' server and client need."""

    block_class = FarMeshMixtralBlock
    attn_class = MixtralAttention

    @classmethod
    def finish_family(cls, config: Any) -> None:
        if config.pad_token_id is None:
            config.pad_token_id = 0
        config.use_cache = True


class DistributedMixtralModel(LlamaStyleBody, MixtralModel):
    """MixtralModel whose decoder layers run in the swarm."""

    config_class = DistributedMixtralConfig
    output_class = MoeModelOutputWithPast


class DistributedMixtralForCausalLM(LlamaStyleCausalLM, MixtralForCausalLM):
    """MixtralForCausalLM whose decoder layers run in the swarm."""

    body_class = DistributedMixtralModel

    def add_family_fields(self, config: DistributedMixtralConfig) -> None:
        super().add_family_fields(config)
        self.router_aux_loss_coef = config.router_aux_loss_coef
        self.num_experts = config.num_local_experts
        self.num_experts_per_tok = config.num_experts_per_tok


CLASSES = {"config": DistributedMixtralConfig, "model": DistributedMixtralModel,
           "model_for_causal_lm": DistributedMixtralForCausalLM, "model_for_sequence_classification": None}
