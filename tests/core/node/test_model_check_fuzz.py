"""Fuzz tests of a model folder's files (Hypothesis): whatever config.json, the weight index, a safetensors header or
farnode-model.json hold, the launch-time checks (the CLI's model check, the stdlib family rules, the factory's layer
count and family, the runtime verdicts' cache) end in a verdict, a result or a plain UserInputError."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.cli.node_args import catalog_model, checked_model
from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.node.factory import _local_layers, model_family
from farnode_desktop.core.node.model_check import ModelChecks
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.models.families import folder_problems
from tests.hostile_inputs import file_contents

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None)
CONFIG = {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 4,
          "num_key_value_heads": 2, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}, "torch_dtype": "float16"}
INDEX = {"metadata": {"total_size": 1}, "weight_map": {"model.layers.0.mlp.weight": "model.safetensors"}}
HEADER = {"__metadata__": {"format": "pt"}, "model.layers.0.mlp.weight": {"dtype": "F16", "shape": [2, 2],
                                                                         "data_offsets": [0, 8]}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-fuzz") / "model"


def launch_checks(folder: Path) -> None:
    """Every reader of a model folder the app runs before a launch: each ends in a result or a plain refusal."""
    _, problems = folder_problems(folder)
    assert all(isinstance(p, str) and p for p in problems)
    assert isinstance(model_family(folder), str)
    layers = _local_layers(folder)
    assert layers is None or layers > 0
    try:
        assert checked_model(str(folder)) == str(folder.resolve())
    except UserInputError as exc:
        assert str(exc)
    try:
        catalog_model(str(folder))
    except UserInputError as exc:
        assert str(exc)


@FUZZ
@given(content=file_contents(CONFIG))
def test_any_config_json_ends_in_a_verdict(folder: Path, content: bytes) -> None:
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    (folder / "config.json").write_bytes(content)
    launch_checks(folder)


@FUZZ
@given(index=file_contents(INDEX), header=file_contents(HEADER), note=file_contents({"name": "tiny"}),
       declared=st.one_of(st.none(), st.integers(0, 2**64 - 1)))
def test_any_weight_index_safetensors_header_or_model_note_ends_in_a_verdict(
        folder: Path, index: bytes, header: bytes, note: bytes, declared: int | None) -> None:
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    (folder / "config.json").write_text(json.dumps(CONFIG))
    (folder / "farnode-model.json").write_bytes(note)
    size = len(header) if declared is None else declared
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", size) + header)
    launch_checks(folder)
    (folder / "model.safetensors.index.json").write_bytes(index)
    launch_checks(folder)


@FUZZ
@given(content=file_contents({"/some/folder|1|abc": ["a problem"]}))
def test_any_verdict_cache_is_read_or_forgotten(folder: Path, content: bytes) -> None:
    paths = AppPaths.under(folder.parent / "home").ensure()
    checks = ModelChecks(NodeRuntime(paths.runtime), paths)
    checks.cache_file.parent.mkdir(parents=True, exist_ok=True)
    checks.cache_file.write_bytes(content)
    remembered = checks._remembered()
    assert all(isinstance(k, str) and all(isinstance(p, str) for p in v) for k, v in remembered.items())
