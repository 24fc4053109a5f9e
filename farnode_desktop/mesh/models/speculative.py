"""Speculative generation for FarMesh's Llama family (Petals main's `DistributedLlamaForSpeculativeGeneration`).

A small local model drafts a few tokens; the swarm checks all of them in one inference step; the tokens the swarm
agrees with are kept, plus the swarm's own token at the first disagreement. The servers' attention caches are cut
back to the kept tokens with the rollback FarMesh already serves (`InferenceSession.position`, rollback.py), so the
output equals plain greedy generation through the swarm. FarMesh's own code, written after Petals main's
(speculative_model.py, 22afba6); unlike that one it keeps the swarm's correction token, stops exactly where greedy
generation stops (a stopping criterion is checked after each kept token) and copes with a draft cut short by EOS.
"""

from __future__ import annotations

from typing import Any

import torch
from petals.utils.auto_config import DefaultRevisionMixin, _AutoDistributedBase
from transformers.generation import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

from farnode_desktop.mesh.models.llama import DistributedLlamaConfig, DistributedLlamaForCausalLM

SPECULATIVE_FIELD = "model_for_speculative"  # the entry of Petals main's model registry
DRAFT_TOKENS = 10  # tokens the small model drafts per round (Petals main's speculative_inference_iteration_size)


class SpeculativeGenerationError(ValueError):
    """A speculative generate() asked for something it cannot do (sampling, a batch, no small model)."""


class DistributedLlamaForSpeculativeGeneration(DistributedLlamaForCausalLM):
    """DistributedLlamaForCausalLM whose greedy generate() is drafted by `small_model` and checked by the swarm."""

    def __init__(self, config: DistributedLlamaConfig, small_model: Any = None) -> None:
        super().__init__(config)
        self.small_model = small_model

    def _sample(self, input_ids: torch.LongTensor, logits_processor: LogitsProcessorList,
                stopping_criteria: StoppingCriteriaList, generation_config: GenerationConfig,
                synced_gpus: bool = False, streamer: Any = None, logits_warper: Any = None,
                speculative_inference_iteration_size: int = DRAFT_TOKENS, **model_kwargs: Any) -> torch.LongTensor:
        if self.small_model is None:
            raise SpeculativeGenerationError("speculative generation needs a small local model: pass small_model=")
        if generation_config.do_sample or synced_gpus or generation_config.return_dict_in_generate:
            raise SpeculativeGenerationError("speculative generation is greedy only (no do_sample, synced_gpus or "
                                             "return_dict_in_generate)")
        if input_ids.shape[0] != 1:
            raise SpeculativeGenerationError(f"speculative generation takes one sequence at a time, got a batch of "
                                             f"{input_ids.shape[0]}")
        session = self.active_session
        assert session is not None  # generate() opened one
        while True:
            kept = self._speculate_once(input_ids, session, logits_processor, speculative_inference_iteration_size)
            if kept is None:
                break
            finished = False
            for token in kept:
                input_ids = torch.cat([input_ids, token.view(1, 1)], dim=-1)
                if streamer is not None:
                    streamer.put(token.view(1).cpu())
                if bool(stopping_criteria(input_ids, None).all()):
                    finished = True
                    break
            if finished:
                break
        if streamer is not None:
            streamer.end()
        return input_ids

    def _speculate_once(self, input_ids: torch.Tensor, session: Any, logits_processor: LogitsProcessorList,
                        draft_size: int) -> list[torch.Tensor] | None:
        """One round: draft, check in the swarm, return the kept tokens (None: no room left in the session)."""
        length = input_ids.shape[1]
        room = session._max_length - length
        if room <= 0:
            return None
        with torch.no_grad():
            drafted = self.small_model.generate(input_ids, max_new_tokens=min(draft_size, room), do_sample=False)
        draft = drafted[:, length:].to(input_ids.device)
        if draft.shape[1] == 0:
            return None
        turned_down = session.position - (length - 1)  # drafted tokens the swarm turned down last round
        if turned_down > 0:
            session.position = length - 1  # cut the servers' caches back to them (rollback.py)
        candidate = torch.cat([input_ids, draft], dim=-1)
        with torch.no_grad():  # every token not yet in the caches, up to the next-to-last drafted one
            logits = self(candidate[:, session.position:-1]).logits[:, -draft.shape[1]:, :]
        kept: list[torch.Tensor] = []
        for i in range(draft.shape[1]):
            scores = logits_processor(candidate[:, :length + i], logits[:, i, :])
            token = torch.argmax(scores, dim=-1)[0]
            kept.append(token)
            if int(token) != int(draft[0, i]):
                break  # the swarm's own token replaces the first drafted one it disagrees with
        return kept


class AutoDistributedSpeculativeModel(DefaultRevisionMixin, _AutoDistributedBase):
    """Petals main's auto class for speculative generation: the family's `model_for_speculative` (Llama's only)."""

    _mapping_field = SPECULATIVE_FIELD
