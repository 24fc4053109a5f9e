"""Petals' backend allocates attention caches with the config's head size: Qwen3's explicit head_dim (heads x
head_dim != hidden_size) as well as hidden_size / heads for a config without one."""

from __future__ import annotations

from pathlib import Path

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


SERVER_SCRIPT = r"""
import json, sys
from pathlib import Path
from farnode_desktop.mesh import bridge
bridge.install()
import petals
from petals.server.server import ModuleAnnouncerThread, Server
from farnode_desktop.mesh.tinymodel import make_shaped, make_tiny_llama

folder = Path(sys.argv[1])
found = {}
for name, path in (("qwen", make_shaped("Qwen/Qwen3-32B", folder / "qwen")), ("llama", make_tiny_llama(folder / "llama"))):
    server = Server(initial_peers=[], dht_prefix="t" + name, converted_model_name_or_path=str(path), throughput=1.0,
                    num_blocks=2, device="cpu", torch_dtype="float32", reachable_via_relay=False,
                    attn_cache_tokens=100, host_maddrs=["/ip4/127.0.0.1/tcp/0"])
    try:
        announcer = ModuleAnnouncerThread([f"t{name}.0"], server.dht, server.server_info, None,
                                          block_config=server.block_config, memory_cache=None, update_period=60,
                                          expiration=60)
        config = server.block_config
        found[name] = {"cache_bytes_per_block": server._cache_bytes_per_block,
                       "attn_cache_bytes": server.attn_cache_bytes, "bytes_per_token": announcer.bytes_per_token,
                       "hidden": config.hidden_size, "groups": config.num_key_value_groups,
                       "kv_heads": config.num_key_value_heads, "head_dim": getattr(config, "head_dim", None)}
    finally:
        server.shutdown()
print(json.dumps(found))
"""


def test_petals_server_sizes_the_attention_cache_from_heads_times_head_dim(tmp_path: Path) -> None:
    """Petals' own `Server.__init__` (server.py:206-209, which also chooses how many blocks fit) and
    `ModuleAnnouncerThread` (server.py:698, the cache tokens left it announces) on a tiny Qwen3-32B-shaped model
    (16 heads x head_dim 8 = 128 at hidden 64, 2 kv heads) and a tiny Llama (no explicit head_dim)."""
    out = run_in_runtime(SERVER_SCRIPT.replace("sys.argv[1]", repr(str(tmp_path))), timeout=240)
    qwen, llama = out["qwen"], out["llama"]
    assert (qwen["hidden"], qwen["kv_heads"], qwen["head_dim"], qwen["groups"]) == (64, 2, 8, 8)
    # k and v, 2 kv heads x 8, 100 tokens, float32; Petals' hidden_size arithmetic gave 2 * 64 * 100 // 8 * 4 = 6400
    assert qwen["cache_bytes_per_block"] == 2 * 2 * 8 * 100 * 4 == 12800
    assert qwen["attn_cache_bytes"] == 2 * 12800
    assert qwen["bytes_per_token"] == 2 * 8 * 4  # Petals': 64 * 4 // 8 = 32
    # without an explicit head_dim Petals' own figures stand
    assert llama["cache_bytes_per_block"] == 2 * llama["hidden"] * 100 // llama["groups"] * 4
    assert llama["bytes_per_token"] == llama["hidden"] * 4 // llama["groups"]
