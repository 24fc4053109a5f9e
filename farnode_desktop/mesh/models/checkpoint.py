"""Published checkpoints' per-expert MoE weights -> transformers 5's fused expert tensors, for Petals' block loader.

transformers 5 keeps a MoE layer's experts as two 3-D parameters (`mlp.experts.gate_up_proj` `[experts, 2 *
intermediate, hidden]` and `mlp.experts.down_proj` `[experts, hidden, intermediate]`) and converts the hub's
per-expert tensors when *it* loads a model; Petals 2.2's server reads a block's tensors from the checkpoint itself
(`petals.server.from_pretrained._load_state_dict_from_repo`), so the conversion is done here, on the block's keys.
"""

from __future__ import annotations

import re
from typing import Any

import torch

# Mixtral: block_sparse_moe.experts.E.w1 (gate) / w3 (up) / w2 (down); Qwen3-MoE: mlp.experts.E.gate_proj / up_proj /
# down_proj. The router is `block_sparse_moe.gate` (Mixtral) or `mlp.gate` (Qwen3-MoE); transformers 5 names it
# `mlp.gate` for both.
_EXPERT = re.compile(r"^(?P<moe>block_sparse_moe|mlp)\.experts\.(?P<e>\d+)\.(?P<w>w1|w2|w3|gate_proj|up_proj|down_proj)"
                     r"\.weight$")
_ROLE = {"w1": "gate", "gate_proj": "gate", "w3": "up", "up_proj": "up", "w2": "down", "down_proj": "down"}


def fuse_experts(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One block's state dict (keys without the block prefix) with per-expert MoE weights fused the way
    transformers 5's MoE layers hold them; a dict with none is returned unchanged."""
    experts: dict[int, dict[str, torch.Tensor]] = {}
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        match = _EXPERT.match(key)
        if match is None:
            out[key.replace("block_sparse_moe.gate.", "mlp.gate.", 1) if key.startswith("block_sparse_moe.gate.")
                else key] = tensor
            continue
        experts.setdefault(int(match.group("e")), {})[_ROLE[match.group("w")]] = tensor
    if not experts:
        return state_dict
    order = sorted(experts)
    if order != list(range(len(order))) or any(len(experts[e]) != 3 for e in order):
        raise ValueError(f"the checkpoint's experts are incomplete: {[(e, sorted(experts[e])) for e in order]}")
    out["mlp.experts.gate_up_proj"] = torch.stack([torch.cat([experts[e]["gate"], experts[e]["up"]]) for e in order])
    out["mlp.experts.down_proj"] = torch.stack([experts[e]["down"] for e in order])
    return out


_original: Any = None


def install() -> None:
    """Fuse MoE experts in every block state dict Petals' server loads in this process (idempotent)."""
    global _original
    from petals.server import from_pretrained

    if _original is not None:
        return
    _original = from_pretrained._load_state_dict_from_repo

    def _load_state_dict_from_repo(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        return fuse_experts(_original(*args, **kwargs))

    from_pretrained._load_state_dict_from_repo = _load_state_dict_from_repo
