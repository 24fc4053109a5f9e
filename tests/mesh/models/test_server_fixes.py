"""Petals' backend allocates attention caches with the config's head size: Qwen3's explicit head_dim (heads x
head_dim != hidden_size) as well as hidden_size / heads for a config without one."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json
from types import SimpleNamespace
import torch
from farnode_desktop.mesh import bridge
bridge.install()
from petals.server.backend import TransformerBackend
from farnode_desktop.mesh.models import server_fixes

def shapes(config):
    backend = SimpleNamespace(config=config, module=SimpleNamespace(devices=[torch.device("cpu")]),
                              shard_num_heads=[config.num_attention_heads], dtype=torch.float32)
    return [list(d.shape) for d in TransformerBackend.get_inference_cache_descriptors(backend, 2, 7)]

qwen = SimpleNamespace(hidden_size=64, num_attention_heads=16, head_dim=8, num_key_value_groups=8)
llama = SimpleNamespace(hidden_size=64, num_attention_heads=4, num_key_value_groups=2)
print(json.dumps({"installed": TransformerBackend.get_inference_cache_descriptors
                  is server_fixes.inference_cache_descriptors, "qwen": shapes(qwen), "llama": shapes(llama)}))
"""


def test_cache_descriptors_use_the_configs_head_dim() -> None:
    out = run_in_runtime(SCRIPT)
    assert out["installed"] is True
    assert out["qwen"] == [[2, 2, 8, 7], [2, 2, 7, 8]]  # Petals' own arithmetic gave head size 64 // 16 = 4
    assert out["llama"] == [[2, 2, 16, 7], [2, 2, 7, 16]]
