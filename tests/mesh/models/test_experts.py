"""MoE blocks quantized by Petals' own `convert_block` (nf4 and int8, on the CPU with the runtime's bitsandbytes):
every expert projection becomes a bitsandbytes layer holding quantized weights, only the router and the norms stay in
the serving dtype (what the planner counts), and the quantized block still computes what the full-precision one
does (to nf4/int8 precision)."""

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
import bitsandbytes as bnb
import torch
from petals.server.from_pretrained import load_pretrained_block
from petals.utils.auto_config import _CLASS_MAPPING
from petals.utils.convert_block import QuantType, convert_block
from transformers import AutoConfig
from farnode_desktop.mesh.tinymodel import make_shaped

out = {}
for like in ("mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen3-30B-A3B"):
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_shaped(like, Path(tmp) / "m")
        model_type = AutoConfig.from_pretrained(folder).model_type
        config = _CLASS_MAPPING[model_type].config.from_pretrained(str(folder), dht_prefix="t")
        x = torch.randn(2, 5, config.hidden_size, generator=torch.Generator().manual_seed(0))
        full = load_pretrained_block(str(folder), 1, config=config, torch_dtype=torch.float32)
        with torch.no_grad():
            expected = full(x)[0]
        for quant, layer, stored in ((QuantType.NF4, bnb.nn.LinearNF4, torch.uint8),
                                     (QuantType.INT8, bnb.nn.Linear8bitLt, torch.int8)):
            block = load_pretrained_block(str(folder), 1, config=config, torch_dtype=torch.float32)
            block = convert_block(block, 1, config, [torch.device("cpu")], torch.device("cpu"), quant_type=quant)
            projections = [(n, m) for n, m in block.named_modules()
                           if ".mlp.experts." in n and n.rsplit(".", 1)[-1] in ("gate_proj", "up_proj", "down_proj")]
            left = sum(p.numel() for n, m in block.named_modules() if not isinstance(m, (bnb.nn.LinearNF4,
                       bnb.nn.Linear8bitLt)) for p in m.parameters(recurse=False))
            with torch.no_grad():
                got = block(x)[0]
            out[f"{like} {quant.name}"] = {
                "projections": len(projections),
                "all_quantized": all(isinstance(m, layer) and m.weight.dtype == stored for _, m in projections),
                "no_3d_weights": all(p.dim() < 3 for p in block.parameters()),
                "left_in_dtype": left,
                "router_and_norms": config.hidden_size * len(full.mlp.experts) + sum(
                    p.numel() for n, p in full.named_parameters() if "norm" in n),
                "cosine": torch.nn.functional.cosine_similarity(got.flatten(), expected.flatten(), dim=0).item(),
                "experts": len(full.mlp.experts),
            }
print(json.dumps(out))
"""


def test_petals_convert_block_quantizes_every_moe_expert() -> None:
    out = run_in_runtime(SCRIPT, timeout=300)
    for like, experts in (("mistralai/Mixtral-8x22B-Instruct-v0.1", 8), ("Qwen/Qwen3-30B-A3B", 16)):
        for quant in ("NF4", "INT8"):
            got = out[f"{like} {quant}"]
            assert got["experts"] == experts, (like, quant, got)
            assert got["projections"] == 3 * experts, (like, quant, got)
            assert got["all_quantized"] and got["no_3d_weights"], (like, quant, got)
            assert got["left_in_dtype"] == got["router_and_norms"], (like, quant, got)
            assert got["cosine"] > (0.85 if quant == "NF4" else 0.99), (like, quant, got)
