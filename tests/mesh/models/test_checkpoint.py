"""MoE checkpoints in both layouts (published per-expert: Mixtral's `block_sparse_moe.experts.E.wN`, Qwen3-MoE's
`mlp.experts.E.*_proj`; transformers 5's fused `mlp.experts.gate_up_proj` / `down_proj`) loaded through Petals' own
block loader into FarMesh's per-expert Linear layers: the loaded block holds transformers' own weights and computes
what transformers' own layer computes."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json, tempfile
from pathlib import Path
from farnode_desktop.mesh import bridge
bridge.install()
import torch
from safetensors.torch import load_file, save_file
from petals.server.from_pretrained import load_pretrained_block
from petals.utils.auto_config import _CLASS_MAPPING
from transformers import AutoModelForCausalLM
from farnode_desktop.mesh.models import checkpoint
from farnode_desktop.mesh.tinymodel import make_shaped

def fused_layout(folder):
    # rewrite the checkpoint with each layer's experts fused as transformers 5 holds them in memory
    for path in folder.glob("*.safetensors"):
        tensors = load_file(str(path))
        for layer in range(8):
            for moe in ("block_sparse_moe", "mlp"):
                p = f"model.layers.{layer}.{moe}.experts."
                n = len({k for k in tensors if k.startswith(p) and k.endswith(".weight")}) // 3
                if not n:
                    continue
                gate, up, down = ("w1", "w3", "w2") if moe == "block_sparse_moe" else ("gate_proj", "up_proj",
                                                                                      "down_proj")
                q = f"model.layers.{layer}.mlp.experts."
                tensors[q + "gate_up_proj"] = torch.stack([torch.cat([tensors.pop(f"{p}{e}.{gate}.weight"),
                                                                      tensors.pop(f"{p}{e}.{up}.weight")])
                                                           for e in range(n)])
                tensors[q + "down_proj"] = torch.stack([tensors.pop(f"{p}{e}.{down}.weight") for e in range(n)])
                if moe == "block_sparse_moe":
                    tensors[q.replace("experts.", "gate.weight")] = tensors.pop(f"model.layers.{layer}.{moe}.gate.weight")
        save_file(tensors, str(path), metadata={"format": "pt"})

out = {}
for like in ("mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen3-30B-A3B"):
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_shaped(like, Path(tmp) / "m")
        keys = sorted(k for p in folder.glob("*.safetensors") for k in load_file(str(p)) if ".layers.1." in k)
        local = AutoModelForCausalLM.from_pretrained(folder).eval()
        config = _CLASS_MAPPING[local.config.model_type].config.from_pretrained(str(folder), dht_prefix="t")
        theirs = local.model.layers[1]
        x = torch.randn(2, 5, config.hidden_size, generator=torch.Generator().manual_seed(0))
        pos = torch.arange(5).expand(2, 5)
        mask = torch.full((5, 5), float("-inf")).triu(1)[None, None].expand(2, 1, 5, 5)
        with torch.no_grad():
            expected = theirs(x, attention_mask=mask, position_ids=pos,
                              position_embeddings=local.model.rotary_emb(x, pos))
            expected = expected[0] if isinstance(expected, tuple) else expected
        for layout in ("per_expert", "fused"):
            if layout == "fused":
                fused_layout(folder)
            block = load_pretrained_block(str(folder), 1, config=config, torch_dtype=torch.float32)
            ours = block.state_dict()
            n = len(block.mlp.experts)
            same = (torch.equal(theirs.mlp.experts.gate_up_proj,
                                torch.stack([torch.cat([ours[f"mlp.experts.{e}.gate_proj.weight"],
                                                        ours[f"mlp.experts.{e}.up_proj.weight"]]) for e in range(n)]))
                    and torch.equal(theirs.mlp.experts.down_proj,
                                    torch.stack([ours[f"mlp.experts.{e}.down_proj.weight"] for e in range(n)]))
                    and all(torch.equal(v, ours[k]) for k, v in theirs.state_dict().items() if ".experts." not in k))
            with torch.no_grad():
                got = block(x)[0]
            out[f"{like} {layout}"] = {"same_weights": same, "equal_output": torch.allclose(got, expected, atol=1e-5),
                                       "experts": n}
        out[like + " published keys"] = keys
# An incomplete expert is refused in words, a half-fused one too; a dense block passes unchanged (the same dict)
for name, bad in (("incomplete", {"block_sparse_moe.experts.0.w1.weight": torch.zeros(2, 2)}),
                  ("half_fused", {"mlp.experts.gate_up_proj": torch.zeros(2, 4, 2)}),
                  ("twice", {"mlp.experts.gate_up_proj": torch.zeros(1, 4, 2), "mlp.experts.down_proj": torch.zeros(1, 2, 2),
                             "mlp.experts.0.gate_proj.weight": torch.zeros(2, 2)})):
    try:
        checkpoint.split_experts(bad)
        out[name] = None
    except ValueError as exc:
        out[name] = str(exc)
dense = {"self_attn.q_proj.weight": torch.zeros(1)}
out["dense_unchanged"] = checkpoint.split_experts(dense) is dense
print(json.dumps(out))
"""


def test_petals_loader_reads_both_expert_layouts_into_per_expert_linears_like_transformers() -> None:
    out = run_in_runtime(SCRIPT, timeout=300)
    for like, experts, published in (("mistralai/Mixtral-8x22B-Instruct-v0.1", 8, "block_sparse_moe.experts.7.w2"),
                                     ("Qwen/Qwen3-30B-A3B", 16, "mlp.experts.15.down_proj")):
        # the tiny model is saved in the published per-expert layout, so both layouts are exercised
        assert any(published in key for key in out[like + " published keys"]), out[like + " published keys"][:5]
        for layout in ("per_expert", "fused"):
            assert out[f"{like} {layout}"] == {"same_weights": True, "equal_output": True, "experts": experts}, \
                (like, layout, out[f"{like} {layout}"])
    assert "incomplete" in out["incomplete"]
    assert "gate_up_proj alone" in out["half_fused"]
    assert "twice" in out["twice"]
    assert out["dense_unchanged"] is True
