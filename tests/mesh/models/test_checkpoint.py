"""Per-expert MoE checkpoints (Mixtral's `block_sparse_moe.experts.E.wN`, Qwen3-MoE's `mlp.experts.E.*_proj`) fused
into transformers 5's expert tensors, through Petals' own block loader: the loaded block equals the layer
transformers itself loads from the same checkpoint."""

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
from petals.server.from_pretrained import load_pretrained_block
from petals.utils.auto_config import _CLASS_MAPPING
from transformers import AutoModelForCausalLM
from farnode_desktop.mesh.models import checkpoint
from farnode_desktop.mesh.tinymodel import make_shaped

out = {}
for like in ("mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen3-30B-A3B"):
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_shaped(like, Path(tmp) / "m")
        local = AutoModelForCausalLM.from_pretrained(folder).eval()
        config = _CLASS_MAPPING[local.config.model_type].config.from_pretrained(str(folder), dht_prefix="t")
        block = load_pretrained_block(str(folder), 1, config=config, torch_dtype=torch.float32)
        theirs = local.model.layers[1].state_dict()
        ours = block.state_dict()
        out[like] = {"same_keys": sorted(theirs) == sorted(ours),
                     "equal": all(torch.equal(theirs[k], ours[k]) for k in theirs)}
# An incomplete expert is refused in words; a dense block passes unchanged (the same dict)
try:
    checkpoint.fuse_experts({"block_sparse_moe.experts.0.w1.weight": torch.zeros(2, 2)})
    out["incomplete"] = None
except ValueError as exc:
    out["incomplete"] = str(exc)
dense = {"self_attn.q_proj.weight": torch.zeros(1)}
out["dense_unchanged"] = checkpoint.fuse_experts(dense) is dense
print(json.dumps(out))
"""


def test_petals_loader_fuses_per_expert_checkpoints_like_transformers() -> None:
    out = run_in_runtime(SCRIPT, timeout=300)
    for like in ("mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen3-30B-A3B"):
        assert out[like] == {"same_keys": True, "equal": True}, (like, out[like])
    assert "incomplete" in out["incomplete"]
    assert out["dense_unchanged"] is True
