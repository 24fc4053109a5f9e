"""A checkpoint's MoE expert weights named for FarMesh's per-expert Linear layers, for Petals' block loader.

FarMesh's MoE blocks hold each expert as `mlp.experts.E.gate_proj` / `up_proj` / `down_proj` nn.Linear layers
(`experts.LinearExperts`, so Petals' nf4/int8 quantization reaches them). Published checkpoints come per expert
(Mixtral: `block_sparse_moe.experts.E.w1` gate / `w3` up / `w2` down; Qwen3-MoE: `mlp.experts.E.*_proj`), and
checkpoints saved by transformers 5 fused (`mlp.experts.gate_up_proj` `[experts, 2 * intermediate, hidden]`,
`mlp.experts.down_proj` `[experts, hidden, intermediate]`). Petals 2.2's server reads a block's tensors from the
checkpoint itself (`petals.server.from_pretrained._load_state_dict_from_repo`), so both layouts are renamed here.
"""

from __future__ import annotations

import re
from typing import Any

import torch

# The router is `block_sparse_moe.gate` (Mixtral) or `mlp.gate` (Qwen3-MoE); transformers 5 names it `mlp.gate`.
_EXPERT = re.compile(r"^(?P<moe>block_sparse_moe|mlp)\.experts\.(?P<e>\d+)\.(?P<w>w1|w2|w3|gate_proj|up_proj|down_proj)"
                     r"\.weight$")
_ROLE = {"w1": "gate_proj", "gate_proj": "gate_proj", "w3": "up_proj", "up_proj": "up_proj", "w2": "down_proj",
         "down_proj": "down_proj"}
_FUSED_GATE_UP, _FUSED_DOWN = "mlp.experts.gate_up_proj", "mlp.experts.down_proj"


def split_experts(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One block's state dict (keys without the block prefix) with its MoE experts as `mlp.experts.E.<proj>.weight`
    and the router as `mlp.gate.weight`, from either layout; a dict with no experts is returned unchanged."""
    experts: dict[int, dict[str, torch.Tensor]] = {}
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        match = _EXPERT.match(key)
        if match is not None:
            experts.setdefault(int(match.group("e")), {})[_ROLE[match.group("w")]] = tensor
        elif key in (_FUSED_GATE_UP, _FUSED_DOWN):
            continue
        else:
            out["mlp.gate." + key.removeprefix("block_sparse_moe.gate.") if key.startswith("block_sparse_moe.gate.")
                else key] = tensor
    fused = [key for key in (_FUSED_GATE_UP, _FUSED_DOWN) if key in state_dict]
    if fused and experts:
        raise ValueError("the checkpoint holds its experts twice (fused and per expert)")
    if fused:
        experts = _unfuse(state_dict, fused)
    if not experts:
        return state_dict
    order = sorted(experts)
    if order != list(range(len(order))) or any(len(experts[e]) != 3 for e in order):
        raise ValueError(f"the checkpoint's experts are incomplete: {[(e, sorted(experts[e])) for e in order]}")
    for e in order:
        for proj, tensor in experts[e].items():
            out[f"mlp.experts.{e}.{proj}.weight"] = tensor
    return out


def _unfuse(state_dict: dict[str, torch.Tensor], fused: list[str]) -> dict[int, dict[str, torch.Tensor]]:
    """transformers 5's fused expert tensors, one gate/up/down weight per expert."""
    if len(fused) != 2:
        raise ValueError(f"the checkpoint's experts are incomplete: it has {fused[0]} alone")
    gate_up, down = state_dict[_FUSED_GATE_UP], state_dict[_FUSED_DOWN]
    if gate_up.dim() != 3 or down.dim() != 3 or gate_up.shape[0] != down.shape[0] or gate_up.shape[1] % 2:
        raise ValueError(f"the checkpoint's fused experts have unexpected shapes {tuple(gate_up.shape)} and "
                         f"{tuple(down.shape)}")
    inter = gate_up.shape[1] // 2
    return {e: {"gate_proj": gate_up[e, :inter].clone(), "up_proj": gate_up[e, inter:].clone(),
                "down_proj": down[e].clone()} for e in range(gate_up.shape[0])}


_original: Any = None


def install() -> None:
    """Name MoE experts per expert in every block state dict Petals' server loads in this process (idempotent)."""
    global _original
    from petals.server import from_pretrained

    if _original is not None:
        return
    _original = from_pretrained._load_state_dict_from_repo

    def _load_state_dict_from_repo(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        return split_experts(_original(*args, **kwargs))

    from_pretrained._load_state_dict_from_repo = _load_state_dict_from_repo
