"""FarMesh's Mixtral family (mixture of experts) on transformers 4.43; Petals 2.2 has none.

The server block wraps transformers' `MixtralDecoderLayer` (attention with GQA, then the sparse-MoE feed-forward,
router included); the cache conversion is the same as Llama's, with Mixtral's sliding window in the mask.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from petals.client.from_pretrained import FromPretrainedMixin
from petals.client.lm_head import LMHead
from petals.client.ptune import PTuneMixin
from petals.client.remote_sequential import RemoteSequential
from torch import nn
from transformers.cache_utils import DynamicCache
from transformers.modeling_outputs import MoeModelOutputWithPast
from transformers.models.mixtral import MixtralConfig, MixtralForCausalLM, MixtralModel, MixtralPreTrainedModel
from transformers.models.mixtral.modeling_mixtral import MixtralAttention, MixtralDecoderLayer

from farnode_desktop.mesh.models.cache import causal_mask, hf_to_petals, petals_to_hf, positions
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, finish_config, prefix_for
from farnode_desktop.mesh.models.remote import SwarmGeneration, SwarmModelBody


class FarMeshMixtralBlock(MixtralDecoderLayer):
    """One Mixtral decoder layer as a Petals server block."""

    def __init__(self, config: MixtralConfig) -> None:
        super().__init__(config, layer_idx=0)
        self.sliding_window = config.sliding_window

    def forward(self, hidden_states: torch.Tensor, *args: Any, layer_past: Any = None, use_cache: bool = False,
                **kwargs: Any) -> tuple[Any, ...]:
        batch_size, seq_length, _ = hidden_states.shape
        cache = DynamicCache()
        past_length = 0
        if layer_past is not None:
            keys, values = petals_to_hf(layer_past, batch_size, self.self_attn.num_key_value_heads)
            past_length = keys.shape[2]
            if past_length:
                cache.update(keys, values, 0)
        position_ids = positions(past_length, seq_length, batch_size, hidden_states.device)
        mask = causal_mask(batch_size, seq_length, past_length, hidden_states.dtype, hidden_states.device,
                           sliding_window=self.sliding_window)
        outputs = super().forward(hidden_states, attention_mask=mask, position_ids=position_ids,
                                  past_key_value=cache, use_cache=True, output_router_logits=False,
                                  cache_position=position_ids[0])
        if not use_cache:
            return (outputs[0],)
        return outputs[0], hf_to_petals(cache.key_cache[0], cache.value_cache[0])


class DistributedMixtralConfig(MixtralConfig, FarMeshConfigMixin):
    """Mixtral config with what Petals' server and client need."""

    block_class = FarMeshMixtralBlock
    attn_class = MixtralAttention
    block_prefix = "model.layers"

    @property
    def num_key_value_groups(self) -> int:
        return int(self.num_attention_heads // self.num_key_value_heads)

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | os.PathLike[str] | None, *args: Any,
                        dht_prefix: str | None = None, **kwargs: Any) -> Any:
        dht_prefix = prefix_for("mixtral", model_name_or_path, dht_prefix)
        result = finish_config(super().from_pretrained(model_name_or_path, *args, dht_prefix=dht_prefix, **kwargs),
                               model_name_or_path)
        config = result[0] if isinstance(result, tuple) else result
        if config.pad_token_id is None:
            config.pad_token_id = 0
        config.use_cache = True
        return result


class DistributedMixtralModel(FromPretrainedMixin, PTuneMixin, SwarmModelBody, MixtralModel):
    """MixtralModel whose decoder layers run in the swarm."""

    _keys_to_ignore_on_load_missing = PTuneMixin._keys_to_ignore_on_load_missing
    _keys_to_ignore_on_load_unexpected = [r"^model\.layers\.", r"^layers\."]
    config_class = DistributedMixtralConfig
    output_class = MoeModelOutputWithPast

    def __init__(self, config: DistributedMixtralConfig, *, dht: Any = None) -> None:
        n_layer, config.num_hidden_layers = config.num_hidden_layers, 0
        super().__init__(config)
        config.num_hidden_layers = n_layer
        self.layers = RemoteSequential(config, dht=dht)
        self.requires_grad_(False)
        self.init_prompts(config)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    @property
    def word_embeddings_layernorm(self) -> nn.Module:
        return nn.Identity()

    @property
    def h(self) -> RemoteSequential:
        return self.layers

    @property
    def ln_f(self) -> nn.Module:
        return self.norm


class DistributedMixtralForCausalLM(FromPretrainedMixin, SwarmGeneration, MixtralForCausalLM):
    """MixtralForCausalLM whose decoder layers run in the swarm."""

    _keys_to_ignore_on_load_missing = DistributedMixtralModel._keys_to_ignore_on_load_missing
    _keys_to_ignore_on_load_unexpected = DistributedMixtralModel._keys_to_ignore_on_load_unexpected
    config_class = DistributedMixtralConfig

    def __init__(self, config: DistributedMixtralConfig) -> None:
        MixtralPreTrainedModel.__init__(self, config)
        self.model = DistributedMixtralModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = LMHead(config)
        self.router_aux_loss_coef = config.router_aux_loss_coef
        self.num_experts = config.num_local_experts
        self.num_experts_per_tok = config.num_experts_per_tok
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    @property
    def transformer(self) -> DistributedMixtralModel:
        return self.model


CLASSES = {"config": DistributedMixtralConfig, "model": DistributedMixtralModel,
           "model_for_causal_lm": DistributedMixtralForCausalLM, "model_for_sequence_classification": None}
