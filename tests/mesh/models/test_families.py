"""Model families, Petals' DHT prefix rule and the config and folder checks: the pure-Python parts of mesh/models/."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.gpus.catalog import ModelSpec, runtime_problem
from farnode_desktop.core.node.runtime_lock import runtime_needs
from farnode_desktop.mesh.check_model import check_model
from farnode_desktop.mesh.models.families import (
    FAMILIES,
    block_prefix_in,
    config_problems,
    dht_prefix,
    family_of,
    folder_problems,
)
from farnode_desktop.mesh.tinymodel import SHAPES

REPO = Path(__file__).resolve().parents[3]
CATALOG = json.loads((REPO / "resources" / "models.json").read_text())["models"]


def write_safetensors(path: Path, names: list[str]) -> None:
    """A safetensors file with these (empty) tensors: just the header the layout check reads."""
    header = {name: {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for name in names}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


def model_folder(tmp_path: Path, config: dict[str, Any], names: list[str]) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    write_safetensors(folder / "model.safetensors", names)
    return folder


def test_every_catalog_family_is_served_and_every_tiny_shape_passes_the_checks() -> None:
    # a catalog entry whose family this runtime lacks names the newer runtime it needs (Qwen3: transformers 5), so
    # the app does not offer it here (tests/core/gpus/test_planner_qwen3.py)
    here = runtime_needs().transformers
    assert {m["family"] for m in CATALOG if runtime_problem(ModelSpec.from_json(m), here) is None} == set(FAMILIES)
    for name, shape in SHAPES.items():
        assert any(m["name"] == name for m in CATALOG), name
        assert config_problems(shape) == [], name
        assert family_of(shape) is FAMILIES[shape["model_type"]]


@pytest.mark.parametrize(("model_type", "name", "prefix"), [
    ("llama", "meta-llama/Llama-2-7b-chat-hf", "Llama-2-7b-chat-hf"),  # "-hf" added only when missing
    ("llama", "meta-llama/Meta-Llama-3.1-405B-Instruct", "Meta-Llama-3-1-405B-Instruct-hf"),
    ("llama", "someone/my_model.v2", "my_model-v2-hf"),
    ("falcon", "tiiuae/falcon-40b", "falcon-40b"),
    ("mixtral", "mistralai/Mixtral-8x22B-Instruct-v0.1", "mistralai/Mixtral-8x22B-Instruct-v0-1"),
    ("bloom", "bigscience/bloom-560m", "bigscience/bloom-560m-petals"),
])
def test_dht_prefix_is_petals_own_rule(model_type: str, name: str, prefix: str) -> None:
    assert dht_prefix(model_type, name) == prefix


def test_a_local_folder_has_no_petals_prefix(tmp_path: Path) -> None:
    assert dht_prefix("llama", str(tmp_path)) is None


@pytest.mark.parametrize(("change", "reason"), [
    ({"model_type": "gpt2"}, "cannot serve models of type 'gpt2'"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "lacks low_freq_factor"),
    ({"rope_scaling": {"rope_type": "su"}}, "RoPE scaling 'su' is not supported"),
    ({"num_key_value_heads": 3}, "not a multiple of num_key_value_heads 3"),
    ({"quantization_config": {"quant_method": "gptq"}}, "pre-quantized checkpoints (gptq)"),
])
def test_unservable_llama_configs_are_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    config = {**SHAPES["meta-llama/Meta-Llama-3.1-405B-Instruct"], **change}
    problems = config_problems(config)
    assert problems and reason in problems[0], problems


def test_unservable_mixtral_and_falcon_configs_are_refused() -> None:
    mixtral = SHAPES["mistralai/Mixtral-8x22B-Instruct-v0.1"]
    assert "num_experts_per_tok" in config_problems({**mixtral, "num_experts_per_tok": 9})[0]
    assert "RoPE scaling" in config_problems({**mixtral, "rope_scaling": {"type": "linear", "factor": 2.0}})[0]
    falcon = SHAPES["tiiuae/falcon-40b"]
    assert "ALiBi" in config_problems({**falcon, "alibi": True})[0]
    assert config_problems({**falcon, "new_decoder_architecture": False, "num_kv_heads": None}) == []


def test_bloom_block_layout_is_found_in_either_form(tmp_path: Path) -> None:
    hub = model_folder(tmp_path, SHAPES["bigscience/bloom-560m"], ["word_embeddings.weight", "h.0.mlp.dense_h_to_4h.weight"])
    assert block_prefix_in(hub, FAMILIES["bloom"]) == "h"
    saved = tmp_path / "saved"
    saved.mkdir()
    write_safetensors(saved / "model.safetensors", ["transformer.h.0.mlp.dense_h_to_4h.weight"])
    assert block_prefix_in(saved, FAMILIES["bloom"]) == "transformer.h"


def test_a_folder_whose_weights_lack_the_blocks_is_refused(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, SHAPES["meta-llama/Llama-2-70b-chat-hf"], ["lm_head.weight", "layers.0.x"])
    config, problems = folder_problems(folder)
    assert config is not None and problems == [f"the weights in {folder} have no model.layers.0.* block"]


def test_check_model_on_folders(tmp_path: Path) -> None:
    good = model_folder(tmp_path, SHAPES["tiiuae/falcon-40b"], ["transformer.h.0.mlp.dense_4h_to_h.weight"])
    verdict = check_model(str(good))
    assert verdict == {"ok": True, "model": str(good), "model_type": "falcon", "family": "falcon", "num_blocks": 4,
                       "dht_prefix": None, "problems": []}
    not_model = tmp_path / "empty"
    not_model.mkdir()
    assert check_model(str(not_model))["problems"] == [f"{not_model} has no config.json: it is not a model folder"]


def test_check_model_command_prints_json_and_refuses_with_status_1(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"model_type": "mamba", "hidden_size": 64}, [])
    proc = subprocess.run([sys.executable, "-m", "farnode_desktop.mesh.check_model", str(folder)],
                          capture_output=True, text=True, timeout=60, check=False, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["ok"] is False and verdict["family"] is None
    assert verdict["problems"] == ["FarMesh cannot serve models of type 'mamba': it serves Llama, Mixtral, Falcon, "
                                   "BLOOM, Qwen3, Qwen3-MoE"]
