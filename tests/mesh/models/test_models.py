"""Registration of FarMesh's families in the runtime's Python: `import petals` puts all four into Petals' own
registry in place of 2.2's, under the names Petals code uses, with the rollback loop; none with an older
transformers."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

FAMILIES = ("llama", "mixtral", "falcon", "bloom", "qwen3", "qwen3_moe")
SCRIPT = r"""
import json, tempfile
from pathlib import Path
import petals  # the farmesh.pth hook registers FarMesh's families on this import
import transformers
from petals.models.llama.config import DistributedLlamaConfig as PetalsLlamaConfig
from petals.server import block_functions
from petals.utils import auto_config
from transformers import LlamaConfig, LlamaForCausalLM
import farnode_desktop.mesh.models as models
from farnode_desktop.mesh.models import rollback

out = {"transformers": [models.transformers_version(), transformers.__version__], "supported": models.supported_here()}
mapping = {t: {kind: (cls.__module__ if cls is not None else None) for kind, cls in vars(m).items()}
           for t, m in auto_config._CLASS_MAPPING.items()}
out["mapping"] = mapping
out["again"] = models.register()
out["same_after_again"] = mapping == {t: {kind: (cls.__module__ if cls is not None else None)
                                          for kind, cls in vars(m).items()}
                                      for t, m in auto_config._CLASS_MAPPING.items()}
out["petals_2_2_llama_gone"] = all(m.config is not PetalsLlamaConfig for m in auto_config._CLASS_MAPPING.values())
out["names"] = {name: getattr(petals, name).__module__ for name in
                ("DistributedLlamaForCausalLM", "DistributedMixtralForCausalLM", "DistributedFalconForCausalLM",
                 "DistributedBloomForCausalLM", "DistributedLlamaConfig", "DistributedBloomModel")}
out["subpackage_names"] = {name: getattr(getattr(petals.models, name), f"Distributed{display}ForCausalLM").__module__
                           for name, display in (("llama", "Llama"), ("falcon", "Falcon"), ("bloom", "Bloom"))}
out["rollback_installed"] = block_functions.iterate_rpc_inference is rollback.serve_inference
# Petals' own AutoDistributedConfig reads a local Llama folder with FarMesh's config class
with tempfile.TemporaryDirectory() as tmp:
    LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1)).save_pretrained(tmp)
    loaded = petals.AutoDistributedConfig.from_pretrained(tmp)
    out["auto_config"] = [type(loaded).__module__, loaded.block_class.__name__, loaded.num_key_value_groups]
# With a transformers older than 5 nothing registers (Petals 2.2's own families would stay)
models._registered, models.transformers_version = False, lambda: (4, 43)
out["older"] = [models.supported_here(), models.register()]
print(json.dumps(out))
"""


def test_import_petals_registers_the_four_families_in_petals_registry() -> None:
    out = run_in_runtime(SCRIPT)
    assert out["transformers"] == [[5, 25], "5.25.0"] and out["supported"] is True  # read without importing it
    ours = {t: {"config": f"farnode_desktop.mesh.models.{t}", "model": f"farnode_desktop.mesh.models.{t}",
                "model_for_causal_lm": f"farnode_desktop.mesh.models.{t}", "model_for_sequence_classification": None}
            for t in FAMILIES}
    for family in ours.values():  # Petals main's registry field (mesh/petals_main_api.py); only Llama has one
        family["model_for_speculative"] = None
    ours["llama"]["model_for_speculative"] = "farnode_desktop.mesh.models.speculative"
    ours["llama"]["model_for_sequence_classification"] = "farnode_desktop.mesh.models.sequence_classification"
    assert out["mapping"] == ours
    assert out["again"] == list(FAMILIES) and out["same_after_again"] is True  # idempotent
    assert out["petals_2_2_llama_gone"] is True
    assert set(out["names"].values()) == {f"farnode_desktop.mesh.models.{t}"
                                          for t in ("llama", "mixtral", "falcon", "bloom")}  # the names asked for
    assert out["names"]["DistributedMixtralForCausalLM"] == "farnode_desktop.mesh.models.mixtral"
    assert out["subpackage_names"] == {t: f"farnode_desktop.mesh.models.{t}" for t in ("llama", "falcon", "bloom")}
    assert out["rollback_installed"] is True
    # Petals' own AutoDistributedConfig: FarMesh's Llama config, its block, grouped-query attention
    assert out["auto_config"] == ["farnode_desktop.mesh.models.llama", "FarMeshLlamaBlock", 2]
    assert out["older"] == [False, []]
