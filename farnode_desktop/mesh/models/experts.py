"""A MoE block's experts as one nn.Linear per projection, so Petals' `convert_block` quantizes them (nf4/int8).

transformers 5 holds a block's experts in two 3-D parameters (`gate_up_proj`, `down_proj`) that Petals' quantizer,
which replaces nn.Linear modules only, never reaches; transformers 4 had one Linear per expert. `LinearExperts`
takes the place of transformers 5's experts module inside FarMesh's Mixtral and Qwen3-MoE blocks, with the same
call (`hidden, top_k_index, top_k_weights` from the family's own router) and the same arithmetic as its eager
forward: each chosen expert's act(gate(x)) * up(x), through down, times the router's weight, summed per token.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN


class ExpertMLP(nn.Module):
    """One expert: gate, up and down projections without biases."""

    def __init__(self, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)


class LinearExperts(nn.ModuleList):
    """All of a block's experts (`experts.E.gate_proj` ...), called like transformers 5's fused experts."""

    act_fn: nn.Module

    def __init__(self, num_experts: int, hidden_size: int, intermediate_size: int, hidden_act: str) -> None:
        super().__init__(ExpertMLP(hidden_size, intermediate_size) for _ in range(num_experts))
        self.num_experts = num_experts
        # kept out of the list's modules (the activation has no weights): len() and iteration give the experts only
        object.__setattr__(self, "act_fn", ACT2FN[hidden_act])

    def forward(self, hidden_states: torch.Tensor, top_k_index: torch.Tensor,
                top_k_weights: torch.Tensor) -> torch.Tensor:
        final_hidden_states = torch.zeros_like(hidden_states)
        with torch.no_grad():
            expert_mask = nn.functional.one_hot(top_k_index, num_classes=self.num_experts).permute(2, 1, 0)
            expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
        for hit in expert_hit:
            expert: ExpertMLP = self[int(hit[0])]
            top_k_pos, token_idx = torch.where(expert_mask[int(hit[0])])
            current_state = hidden_states[token_idx]
            current = expert.down_proj(self.act_fn(expert.gate_proj(current_state)) * expert.up_proj(current_state))
            current = current * top_k_weights[token_idx, top_k_pos, None]
            final_hidden_states.index_add_(0, token_idx, current.to(final_hidden_states.dtype))
        return final_hidden_states
