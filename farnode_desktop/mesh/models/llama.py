"""FarMesh's Llama family on transformers 4.43: GQA, Llama 3.1's `llama3` RoPE (transformers' own rope utils).

The server block wraps transformers' `LlamaDecoderLayer`; Petals' cache layout is converted to a one-layer
DynamicCache and back, positions follow the cached length, and the causal mask covers cache + new tokens.
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
from transformers.models.llama import LlamaConfig, LlamaForCausalLM, LlamaModel, LlamaPreTrainedModel
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaDecoderLayer

from farnode_desktop.mesh.models.cache import causal_mask, hf_to_petals, petals_to_hf, positions
from farnode_desktop.mesh.models.config import FarMeshConfigMixin, finish_config, prefix_for
from farnode_desktop.mesh.models.remote import SwarmGeneration, SwarmModelBody


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


class DistributedLlamaConfig(LlamaConfig, FarMeshConfigMixin):
    """Llama config with what Petals' server and client need (block class, prefix, kv groups)."""

    block_class = FarMeshLlamaBlock
    attn_class = LlamaAttention
    block_prefix = "model.layers"

    @property
    def num_key_value_groups(self) -> int:
        return int(self.num_attention_heads // self.num_key_value_heads)

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | os.PathLike[str] | None, *args: Any,
                        dht_prefix: str | None = None, **kwargs: Any) -> Any:
        dht_prefix = prefix_for("llama", model_name_or_path, dht_prefix)
        result = finish_config(super().from_pretrained(model_name_or_path, *args, dht_prefix=dht_prefix, **kwargs),
                               model_name_or_path)
        config = result[0] if isinstance(result, tuple) else result
        config.pretraining_tp = 1  # tensor-parallel pretraining slices do not apply to served blocks
        config.use_cache = True
        return result


class DistributedLlamaModel(FromPretrainedMixin, PTuneMixin, SwarmModelBody, LlamaModel):
    """LlamaModel whose decoder layers run in the swarm."""

    _keys_to_ignore_on_load_missing = PTuneMixin._keys_to_ignore_on_load_missing
    _keys_to_ignore_on_load_unexpected = [r"^model\.layers\.", r"^layers\."]
    config_class = DistributedLlamaConfig

    def __init__(self, config: DistributedLlamaConfig, *, dht: Any = None) -> None:
        n_layer, config.num_hidden_layers = config.num_hidden_layers, 0  # no local decoder layers
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


class DistributedLlamaForCausalLM(FromPretrainedMixin, SwarmGeneration, LlamaForCausalLM):
    """LlamaForCausalLM whose decoder layers run in the swarm; generate() keeps the caches on the servers."""

    _keys_to_ignore_on_load_missing = DistributedLlamaModel._keys_to_ignore_on_load_missing
    _keys_to_ignore_on_load_unexpected = DistributedLlamaModel._keys_to_ignore_on_load_unexpected
    config_class = DistributedLlamaConfig

    def __init__(self, config: DistributedLlamaConfig) -> None:
        LlamaPreTrainedModel.__init__(self, config)
        self.model = DistributedLlamaModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = LMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    @property
    def transformer(self) -> DistributedLlamaModel:
        return self.model


CLASSES = {"config": DistributedLlamaConfig, "model": DistributedLlamaModel,
           "model_for_causal_lm": DistributedLlamaForCausalLM, "model_for_sequence_classification": None}
