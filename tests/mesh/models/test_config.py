"""FarMesh's config loading in the runtime's Python: the DHT prefix of each family's hub names equal to Petals 2.2's
own config classes' (current Petals' rule for Mixtral, which 2.2 lacks), a given prefix first, none for a local
folder, and BLOOM read from whichever block layout its folder was saved in."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json, os, tempfile
from pathlib import Path
import petals  # the farmesh.pth hook registers FarMesh's families
import torch
import transformers
from petals.models.bloom.config import DistributedBloomConfig as PetalsBloomConfig
from petals.models.falcon.config import DistributedFalconConfig as PetalsFalconConfig
from petals.models.llama.config import DistributedLlamaConfig as PetalsLlamaConfig
from petals.server.from_pretrained import _load_state_dict_from_local_file
from transformers import BloomConfig, BloomForCausalLM, BloomModel, LlamaConfig, LlamaForCausalLM
from farnode_desktop.mesh.models import bloom, config, falcon, llama, mixtral

# The hub is out of reach here: a hub name's config.json is the class's defaults; local folders load for real.
hub_config_dict = transformers.PretrainedConfig.get_config_dict.__func__
def offline_config_dict(cls, name, **kwargs):
    if os.path.isdir(name):
        return hub_config_dict(cls, name, **kwargs)
    return {"model_type": cls.model_type}, kwargs
transformers.PretrainedConfig.get_config_dict = classmethod(offline_config_dict)

out = {}
NAMES = {"llama": ["meta-llama/Llama-2-7b-chat-hf", "meta-llama/Meta-Llama-3.1-8B-Instruct", "huggyllama/llama-7b"],
         "falcon": ["tiiuae/falcon-40b-instruct", "tiiuae/falcon-7b"],
         "bloom": ["bigscience/bloom-7b1", "bigscience/bloomz"],
         "mixtral": ["mistralai/Mixtral-8x7B-Instruct-v0.1"]}
OURS = {"llama": llama.DistributedLlamaConfig, "falcon": falcon.DistributedFalconConfig,
        "bloom": bloom.DistributedBloomConfig, "mixtral": mixtral.DistributedMixtralConfig}
PETALS = {"llama": PetalsLlamaConfig, "falcon": PetalsFalconConfig, "bloom": PetalsBloomConfig}  # 2.2 has no Mixtral
prefixes = {}
for family, names in NAMES.items():
    for name in names:
        prefixes[name] = {"prefix_for": config.prefix_for(family, name, None),
                          "farmesh": OURS[family].from_pretrained(name).dht_prefix,
                          "petals": PETALS[family].from_pretrained(name).dht_prefix if family in PETALS else None,
                          "given": OURS[family].from_pretrained(name, dht_prefix="my-swarm").dht_prefix,
                          "prefix_for_given": config.prefix_for(family, name, "my-swarm")}
out["prefixes"] = prefixes
out["no_name"] = config.prefix_for("llama", None, None)

# Local folders: no prefix unless given; BLOOM saved either way is read from where its blocks are.
torch.manual_seed(0)
tiny_bloom = BloomConfig(vocab_size=32, hidden_size=16, n_layer=2, n_head=2)
folders = {}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1)).save_pretrained(tmp / "llama")
    local = llama.DistributedLlamaConfig.from_pretrained(tmp / "llama")
    out["llama_folder"] = [local.dht_prefix, local.block_prefix,
                           llama.DistributedLlamaConfig.from_pretrained(tmp / "llama", dht_prefix="mine").dht_prefix]
    BloomForCausalLM(tiny_bloom).save_pretrained(tmp / "saved")  # transformer.h.N.*
    BloomModel(tiny_bloom).save_pretrained(tmp / "hub")  # h.N.*, as the hub's BLOOM checkpoints
    block_weights = len(bloom.FarMeshBloomBlock(tiny_bloom).state_dict())
    for name in ("saved", "hub"):
        loaded = bloom.DistributedBloomConfig.from_pretrained(tmp / name)
        found = _load_state_dict_from_local_file(str(tmp / name / "model.safetensors"),
                                                 block_prefix=f"{loaded.block_prefix}.0.")
        folders[name] = {"block_prefix": loaded.block_prefix, "dht_prefix": loaded.dht_prefix,
                         "block_0_weights": len(found), "block_weights": block_weights}
out["bloom_folders"] = folders
out["bloom_class_prefix"] = bloom.DistributedBloomConfig.block_prefix
print(json.dumps(out))
"""


def test_dht_prefix_per_family_and_bloom_folder_layouts() -> None:
    out = run_in_runtime(SCRIPT)
    prefixes = out["prefixes"]
    for name, found in prefixes.items():
        if found["petals"] is not None:  # Petals 2.2's own rule for Llama, Falcon and BLOOM
            assert found["prefix_for"] == found["farmesh"] == found["petals"], name
        assert found["given"] == found["prefix_for_given"] == "my-swarm", name  # a given prefix comes first
    assert prefixes["meta-llama/Meta-Llama-3.1-8B-Instruct"]["farmesh"] == "Meta-Llama-3-1-8B-Instruct-hf"
    assert prefixes["bigscience/bloom-7b1"]["farmesh"] == "bigscience/bloom-7b1-petals"
    assert prefixes["mistralai/Mixtral-8x7B-Instruct-v0.1"]["farmesh"] == "mistralai/Mixtral-8x7B-Instruct-v0-1"
    assert sum(found["petals"] is not None for found in prefixes.values()) == 7
    assert out["no_name"] is None
    assert out["llama_folder"] == [None, "model.layers", "mine"]  # a local folder: no prefix unless given
    folders = out["bloom_folders"]
    assert folders["saved"]["block_prefix"] == "transformer.h" and folders["hub"]["block_prefix"] == "h"
    for name, found in folders.items():  # Petals' own loader finds every weight of block 0 under that prefix
        assert found["dht_prefix"] is None, name
        assert found["block_0_weights"] == found["block_weights"] > 0, name
    assert out["bloom_class_prefix"] == "h"  # one folder's layout does not change the class
