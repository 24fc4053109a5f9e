"""Client side of FarMesh's families: transformers 5's generate() over Petals' remote inference sessions.

The servers keep the attention caches; the client's `past_key_values` is a `RemotePastKeyValues` that only counts
how many of generate()'s tokens the session has already seen, so generate() sends each token once. The base
models' forward, shared by all families, is in `swarm_body.py`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from petals.client.remote_generation import RemoteGenerationMixin
from transformers.cache_utils import Cache
from transformers.generation.utils import ModelOutput


class RemotePastKeyValues(Cache):
    """Stands for the attention caches the servers keep: how many tokens the session has seen, and beam reorders."""

    def __init__(self, tokens_seen: int = 0) -> None:
        super().__init__(layers=[])  # transformers 5's Cache holds per-layer objects: here there are none
        self.tokens_seen = tokens_seen
        self.hypo_ids: torch.Tensor | None = None

    def get_seq_length(self, layer_idx: int | None = 0) -> int:
        return self.tokens_seen

    def get_max_length(self, layer_idx: int | None = None) -> int:
        return -1  # transformers 5: -1 means no maximum

    def get_mask_sizes(self, query_length: int, layer_idx: int = 0) -> tuple[int, int]:
        return self.tokens_seen + query_length, 0

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.tokens_seen:
            raise ValueError("FarMesh cannot widen a session the servers already hold (beams/sequences): start one")

    def crop(self, tokens_to_remove: int) -> None:
        raise ValueError("FarMesh sessions roll back with `session.position = n` (start_from_position), not crop()")

    def update_seen(self, new_tokens: int) -> None:
        self.tokens_seen += new_tokens

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        self.hypo_ids = beam_idx  # applied on the servers with the next step


class SwarmGeneration(RemoteGenerationMixin):
    """generate() for Distributed*ForCausalLM on transformers 4.43 (named without "GenerationMixin" on purpose:
    transformers' `can_generate()` looks for that name to tell a model that cannot generate)."""

    _supports_cache_class = True  # RemotePastKeyValues is a Cache for every family, BLOOM and Falcon included

    def prepare_inputs_for_generation(self, input_ids: torch.Tensor, *args: Any, cache: Any = None,
                                      past_key_values: Any = None, inputs_embeds: torch.Tensor | None = None,
                                      attention_mask: torch.Tensor | None = None, **kwargs: Any) -> dict[str, Any]:
        """transformers 5 passes the cache as `cache` (4.x: `past_key_values`); the model gets it as `cache`."""
        if attention_mask is not None and not bool((attention_mask == 1).all()):
            raise ValueError("FarMesh does not serve padded batches yet: give prompts of equal length")
        cache = cache if cache is not None else past_key_values
        seen = cache.get_seq_length() if cache is not None else 0
        if inputs_embeds is not None and seen == 0:
            return {"inputs_embeds": inputs_embeds, "cache": cache, "use_cache": True}
        return {"input_ids": input_ids[:, seen:], "cache": cache, "use_cache": True}

    def generate(self, inputs: torch.Tensor | None = None, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        self._fix_generate_kwargs(kwargs)
        if inputs is None:
            inputs = kwargs.pop("input_ids", None)
        if session is not None:
            context: Any = self.use_session(session)
        elif self.active_session is not None:
            context = contextlib.nullcontext(self.active_session)
        else:
            max_length, max_new_tokens = kwargs.get("max_length"), kwargs.get("max_new_tokens")
            if (max_length is None) == (max_new_tokens is None):
                raise ValueError("give max_length or max_new_tokens (not both): the servers reserve attention "
                                 "caches for that many tokens")
            session_length = self.transformer.config.pre_seq_len
            if max_length is not None:
                session_length += max_length
            elif max_new_tokens is not None:  # always, given the check above; said again for mypy
                session_length += (inputs.shape[1] if inputs is not None else 0) + max_new_tokens
            context = self.inference_session(max_length=session_length)

        with context as active:
            previous = active.output_ids
            n_prev = previous.shape[1] if previous is not None else 0
            if n_prev:
                inputs = previous if inputs is None else torch.cat([previous, inputs], dim=1)
            # No input ids on a fresh session (Petals' benchmark_inference.py does this): None goes through, and
            # transformers starts from the BOS token, as it does under Petals' own generate().
            seen = min(active.position, n_prev)
            if inputs is not None and seen >= inputs.shape[1]:  # every token is on the servers: re-send the last
                seen = inputs.shape[1] - 1
                active.position = seen  # a rollback (start_from_position) by one token
            if "past_key_values" in kwargs:  # the 4.x name of generate()'s cache argument
                kwargs["cache"] = kwargs.pop("past_key_values")
            if "cache" not in kwargs:
                kwargs["cache"] = RemotePastKeyValues(seen)
            if inputs is not None and kwargs.get("attention_mask") is None:
                # Every token is a real one (the servers have no padding); without this, transformers would guess a
                # mask from the pad token id and refuse a prompt that merely contains that token.
                kwargs["attention_mask"] = torch.ones_like(inputs)
            result = super(RemoteGenerationMixin, self).generate(inputs, *args, **kwargs)  # transformers' own

            sequences = result.sequences if isinstance(result, ModelOutput) else result
            active.output_ids = sequences
            sequences = sequences[:, n_prev:].clone()
            if isinstance(result, ModelOutput):
                result.sequences = sequences
            else:
                result = sequences
        return result

    @staticmethod
    def _convert_to_standard_cache(past_key_value: Any, batch_size: int) -> Any:
        return past_key_value  # BLOOM's tuple conversions do not apply: the caches are on the servers

    def _temporary_reorder_cache(self, past_key_values: Any, beam_idx: torch.Tensor) -> Any:
        if isinstance(past_key_values, RemotePastKeyValues):
            past_key_values.reorder_cache(beam_idx)
        return past_key_values

    @staticmethod
    def _reorder_cache(past_key_values: Any, beam_idx: torch.Tensor) -> Any:
        if isinstance(past_key_values, RemotePastKeyValues):
            past_key_values.reorder_cache(beam_idx)
        return past_key_values

