"""Petals main's API on top of Petals 2.2 (mesh/petals_main_api.py), in the runtime's Python: `import petals` alone
(farmesh.pth) gives every name Petals main's tests import that 2.2 lacks; get_model_block builds each family's
block; DUMMY_KEY_PAST is an empty cache FarMesh's blocks take; the registry has Petals main's speculative field."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import importlib, json, tempfile
from pathlib import Path
import torch
import petals  # the farmesh.pth hook: bridge, families, Petals main's names
from petals.server.block_utils import get_model_block
from petals.utils import auto_config
from petals.utils.misc import DUMMY_KEY_PAST
from farnode_desktop.mesh import petals_main_api
from farnode_desktop.mesh.models.speculative import DistributedLlamaForSpeculativeGeneration
from farnode_desktop.mesh.tinymodel import make_shaped

out = {"added": {f"{m}.{n}": hasattr(importlib.import_module(m), n) for m, n in petals_main_api.ADDED}}
out["again"] = petals_main_api.install() == [f"{m}.{n}" for m, n in petals_main_api.ADDED]  # idempotent
out["spec_class"] = petals.DistributedLlamaForSpeculativeGeneration is DistributedLlamaForSpeculativeGeneration
out["spec_parent"] = issubclass(DistributedLlamaForSpeculativeGeneration, petals.DistributedLlamaForCausalLM)
out["registry"] = {k: getattr(v.model_for_speculative, "__name__", None) for k, v in auto_config._CLASS_MAPPING.items()}
out["llama_classifier"] = auto_config._CLASS_MAPPING["llama"].model_for_sequence_classification.__name__
out["classifier_exported"] = petals.DistributedLlamaForSequenceClassification.__name__
out["dummy"] = list(DUMMY_KEY_PAST.shape)

blocks = {}
with tempfile.TemporaryDirectory() as tmp:
    for like in ("meta-llama/Meta-Llama-3.1-70B-Instruct", "mistralai/Mixtral-8x22B-Instruct-v0.1",
                 "tiiuae/falcon-40b", "bigscience/bloom-560m", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B"):
        folder = make_shaped(like, Path(tmp) / like.replace("/", "--"))
        config = petals.AutoDistributedConfig.from_pretrained(str(folder), dht_prefix="x")
        block = get_model_block(config, layer_idx=1)
        blocks[config.model_type] = type(block).__name__
        if config.model_type == "llama":  # Petals main's tests start a cache from DUMMY_KEY_PAST (test_chained_calls)
            torch.manual_seed(0)
            hidden = torch.randn(1, 3, config.hidden_size)
            with torch.no_grad():
                fresh, _ = block(hidden, use_cache=True)
                dummy, _ = block(hidden, use_cache=True, layer_past=(DUMMY_KEY_PAST, DUMMY_KEY_PAST))
            out["dummy_past_equal"] = torch.allclose(fresh, dummy, atol=1e-6)
out["blocks"] = blocks

class WithLayer:  # a family whose block takes the layer index, as Mixtral's does in Petals main
    def __init__(self, config, layer_idx=0):
        self.layer_idx = layer_idx
class Config:
    block_class = WithLayer
out["layer_idx_passed"] = get_model_block(Config(), layer_idx=5).layer_idx

class LaterConfig(petals.DistributedLlamaConfig):
    model_type = "farmesh-test-later"
auto_config.register_model_classes(config=LaterConfig, model_for_causal_lm=petals.DistributedLlamaForCausalLM,
                                   model_for_speculative=DistributedLlamaForSpeculativeGeneration)
out["later"] = auto_config._CLASS_MAPPING["farmesh-test-later"].model_for_speculative.__name__
print(json.dumps(out))
"""


def test_petals_main_names_exist_after_import_petals_and_work() -> None:
    out = run_in_runtime(SCRIPT, timeout=300)
    assert out["added"] and all(out["added"].values()), out["added"]
    assert "petals.AutoDistributedSpeculativeModel" in out["added"]
    assert "petals.server.block_utils.get_model_block" in out["added"]
    assert out["again"] and out["spec_class"] and out["spec_parent"]
    assert out["registry"] == {"llama": "DistributedLlamaForSpeculativeGeneration", "mixtral": None,
                               "falcon": None, "bloom": None, "qwen3": None, "qwen3_moe": None}
    assert out["llama_classifier"] == out["classifier_exported"] == "DistributedLlamaForSequenceClassification"
    assert out["dummy"] == [0, 0, 0]
    assert out["dummy_past_equal"]
    assert out["blocks"] == {"llama": "FarMeshLlamaBlock", "mixtral": "FarMeshMixtralBlock",
                             "falcon": "FarMeshFalconBlock", "bloom": "FarMeshBloomBlock",
                             "qwen3": "FarMeshQwen3Block", "qwen3_moe": "FarMeshQwen3MoeBlock"}
    assert out["layer_idx_passed"] == 5
    assert out["later"] == "DistributedLlamaForSpeculativeGeneration"
