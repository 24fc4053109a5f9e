"""A decoder-only model whose layers run in the swarm, as every FarMesh family builds it: the base model with its
decoder layers swapped for a RemoteSequential (embeddings, prompts and the final norm stay here), and the
*ForCausalLM with Petals' LM head around it. Each family says where its transformers classes keep these parts.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from petals.client.from_pretrained import FromPretrainedMixin
from petals.client.lm_head import LMHead
from petals.client.ptune import PTuneMixin
from petals.client.remote_sequential import RemoteSequential
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPast

from farnode_desktop.mesh.models.remote import RemotePastKeyValues, SwarmGeneration


def part(name: str) -> Any:
    """A read-only attribute that is the model's `name`: Petals' code and `SwarmModelBody.forward` use BLOOM's names
    (word_embeddings, h, ln_f), which Llama-style models call embed_tokens, layers and norm."""

    def get(self: Any) -> Any:
        return getattr(self, name)

    return property(get)


def _no_norm(self: Any) -> nn.Module:
    return nn.Identity()


NO_EMBEDDINGS_NORM: Any = property(_no_norm, doc="word_embeddings_layernorm of a family without one (all but BLOOM)")


class SwarmModelBody(FromPretrainedMixin, PTuneMixin):
    """A Distributed*Model, listed before the family's transformers base model: that model is built with no decoder
    layers, a RemoteSequential takes their place, and forward() runs embeddings (and ptune prompts) here, the layers
    in the swarm and the final norm here. The family gives `word_embeddings`, `word_embeddings_layernorm`, `h` (the
    RemoteSequential) and `ln_f` under these names (see `part`)."""

    _keys_to_ignore_on_load_missing = PTuneMixin._keys_to_ignore_on_load_missing  # the blocks' weights are not here
    layers_name: ClassVar[str] = "h"  # where the family's transformers base model keeps its decoder layers
    output_class: type[BaseModelOutputWithPast] = BaseModelOutputWithPast  # Mixtral's adds router_logits (None)
    config: Any
    word_embeddings: Any
    word_embeddings_layernorm: Any
    h: RemoteSequential
    ln_f: Any
    pre_seq_len: int

    def __init__(self, config: Any, *, dht: Any = None) -> None:
        n_layer, config.num_hidden_layers = config.num_hidden_layers, 0  # no local decoder layers
        super().__init__(config)
        config.num_hidden_layers = n_layer
        with torch.device("cpu"):  # transformers 5 builds models under a meta-device context; the DHT's shared
            setattr(self, self.layers_name, RemoteSequential(config, dht=dht))  # memory must be real
        self.requires_grad_(False)
        with torch.device("cpu"):  # ptune's prefix_tokens is a plain tensor, not a buffer: never loaded off meta
            self.init_prompts(config)

    def forward(self, input_ids: torch.Tensor | None = None, cache: Any = None, past_key_values: Any = None,
                attention_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, use_cache: bool | None = None,
                output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None, **kwargs: Any) -> BaseModelOutputWithPast:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give either input_ids or inputs_embeds")
        if attention_mask is not None and not bool((attention_mask == 1).all()):
            raise ValueError("FarMesh does not serve custom attention masks (padding) yet")
        if position_ids is not None and not bool((position_ids[:, 1:] - position_ids[:, :-1] == 1).all()):
            raise ValueError("FarMesh serves consecutive positions only")
        if use_cache is False or output_attentions or output_hidden_states or return_dict is False:
            raise ValueError("FarMesh models run with use_cache, without attentions or hidden states, and return "
                             "a dict")
        if inputs_embeds is None:
            assert input_ids is not None
            inputs_embeds = self.word_embeddings(input_ids.view(-1, input_ids.shape[-1]))
        n_tokens = inputs_embeds.shape[1]
        use_prompts = bool(self.config.tuning_mode and "ptune" in self.config.tuning_mode and self.h.position == 0)
        prompts = None
        if use_prompts:
            embeds, prompts = self.get_prompt(inputs_embeds.shape[0])
            inputs_embeds = torch.cat([embeds, inputs_embeds], dim=1)
        hidden_states = self.word_embeddings_layernorm(inputs_embeds)
        past = cache if cache is not None else past_key_values  # transformers 5 names it `cache`
        remote = past if isinstance(past, RemotePastKeyValues) else None
        # `is not None`: a transformers 5 Cache with no layers has len() 0, so it is falsy
        hypo_ids = remote.hypo_ids if remote is not None else None
        hidden_states = self.h(hidden_states, prompts=prompts, hypo_ids=hypo_ids)
        if remote is not None:
            remote.hypo_ids = None
            remote.update_seen(n_tokens)
        if use_prompts:
            hidden_states = hidden_states[:, self.pre_seq_len:]
        hidden_states = self.ln_f(hidden_states)
        fields = getattr(self.output_class, "__dataclass_fields__", {})
        cache_field = "cache" if "cache" in fields else "past_key_values"  # renamed in transformers 5
        return self.output_class(last_hidden_state=hidden_states, hidden_states=None, attentions=None,
                                 **{cache_field: remote})


class LlamaStyleBody(SwarmModelBody):
    """The base model of a family with transformers' Llama-style names (Llama, Mixtral): `embed_tokens`, `layers`
    and `norm`, no embeddings norm, checkpoints with the layers under `model.layers`."""

    _keys_to_ignore_on_load_unexpected = [r"^model\.layers\.", r"^layers\."]
    layers_name = "layers"
    word_embeddings = part("embed_tokens")
    word_embeddings_layernorm = NO_EMBEDDINGS_NORM
    h = part("layers")
    ln_f = part("norm")


class SwarmCausalLM(FromPretrainedMixin, SwarmGeneration):
    """A Distributed*ForCausalLM, listed before the family's transformers *ForCausalLM, whose __init__ it replaces
    (that one would build the local layers): the family's Distributed*Model (`body_class`, whose config class and
    load-time key rules it takes) and Petals' LM head."""

    body_class: ClassVar[type[SwarmModelBody]]
    body_name: ClassVar[str] = "transformer"  # where the family's transformers *ForCausalLM keeps its base model

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        body = cls.__dict__.get("body_class")
        if body is not None:
            cls.config_class = body.config_class
            cls._keys_to_ignore_on_load_missing = body._keys_to_ignore_on_load_missing
            cls._keys_to_ignore_on_load_unexpected = body._keys_to_ignore_on_load_unexpected

    def __init__(self, config: Any) -> None:
        PreTrainedModel.__init__(self, config)  # all the family's *PreTrainedModel does in transformers 4.43
        setattr(self, self.body_name, self.body_class(config))
        self.lm_head = LMHead(config)
        self.add_family_fields(config)
        self.post_init()

    def add_family_fields(self, config: Any) -> None:
        """Set what the family's transformers *ForCausalLM keeps besides its base model and head (none here)."""

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def tie_weights(self, *args: Any, **kwargs: Any) -> None:
        """Petals' LM head shares the input embeddings' weight when the config ties them (BLOOM, Falcon): transformers
        5 ties through a name mapping (`lm_head.weight` -> the embeddings) that Petals' LMHead, whose weight is None
        until tied, does not fit, so the head is tied here as transformers 4.x did."""
        if getattr(self.config, "tie_word_embeddings", False):
            self.lm_head.weight = self.get_input_embeddings().weight


class LlamaStyleCausalLM(SwarmCausalLM):
    """The *ForCausalLM of a family with transformers' Llama-style names: the base model under `model` (Petals' code
    reaches it as `transformer`), and `vocab_size`."""

    body_name = "model"
    transformer = part("model")

    def add_family_fields(self, config: Any) -> None:
        self.vocab_size = config.vocab_size
