"""`check_model` in the runtime's Python: a good config passes, a refused one says why, including what only the
runtime's transformers can tell."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json, pathlib, tempfile
from farnode_desktop.mesh.check_model import check_model
from farnode_desktop.mesh.tinymodel import SHAPES
root = pathlib.Path(tempfile.mkdtemp())
out = {"root": str(root)}
for name, change in (("good", {}), ("incomplete", {"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}),
                     ("bad_factor", {"rope_scaling": {"rope_type": "linear", "factor": -1.0}}),
                     ("rejected", {"rms_norm_eps": "tiny"}),
                     ("warned", {"rope_scaling": {"rope_type": "yarn", "factor": 2.0, "attention_factor": -1.0}})):
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**SHAPES["meta-llama/Meta-Llama-3.1-405B-Instruct"], **change}))
    out[name] = check_model(str(folder))
print(json.dumps(out))
"""


def test_a_good_config_passes_and_refused_ones_say_why() -> None:
    out = run_in_runtime(SCRIPT)
    root = out["root"]
    assert out["good"] == {"ok": True, "model": f"{root}/good", "model_type": "llama", "family": "llama",
                           "num_blocks": 4, "dht_prefix": None, "problems": []}
    assert out["incomplete"]["ok"] is False
    assert out["incomplete"]["problems"] == [
        "rope_scaling 'llama3' lacks low_freq_factor, high_freq_factor, original_max_position_embeddings"]
    # transformers 5 only warns about a RoPE factor below 1 (4.43 refused it): FarMesh refuses it itself
    assert out["bad_factor"]["problems"] == ["rope_scaling 'linear' needs a factor of at least 1, got -1.0"]
    # passes FarMesh's own checks; only the runtime's transformers (5.x's strict config fields) refuses it
    assert out["rejected"]["ok"] is False and out["rejected"]["family"] == "llama"
    assert out["rejected"]["problems"] == ["the node runtime's transformers rejects the config: Validation error "
                                           "for field 'rms_norm_eps':"]
    # transformers 5 only logs a RoPE field out of range and would serve wrong numbers (4.43 refused): refused here
    assert out["warned"]["ok"] is False
    assert out["warned"]["problems"] == ["the node runtime's transformers rejects the config: `rope_parameters`'s "
                                         "attention_factor field must be a float greater than 0, got -1.0"]
